"""``src.train`` checks the summarizer's settings by building one and throwing it away; that check
must not change the random numbers the model's initial weights are drawn from."""

from __future__ import annotations

import hydra
import lightning as L
import pytest
import torch
from omegaconf import open_dict

import src.model.module
from src.model.module import build_model
from tests.helpers import compose_train_config, tiny


class Built(Exception):
    """Stops ``train`` once its model is built."""


def initial_weights_in_train(cfg, monkeypatch) -> dict[str, torch.Tensor]:
    """The state of the model ``train(cfg)`` builds, before anything else touches it."""
    from src.train import train

    seen = {}

    def spy(cfg, datamodule):
        model = build_model(cfg, datamodule)
        seen.update({k: v.clone() for k, v in model.state_dict().items()})
        raise Built

    monkeypatch.setattr(src.model.module, "build_model", spy)
    with pytest.raises(Built):
        train(cfg)
    return seen


def initial_weights_without_the_check(cfg) -> dict[str, torch.Tensor]:
    """``train``'s steps up to building the model, minus the summarizer check."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    return build_model(cfg, datamodule).state_dict()


@pytest.mark.parametrize("summarizer", ["lstm_h", "bilstm"])
def test_the_summarizer_check_leaves_the_initial_weights_alone(summarizer, tmp_path, monkeypatch):
    cfg = compose_train_config([*tiny(summarizer), "seed=5"], tmp_path)
    with open_dict(cfg):
        del cfg["hydra"]
    in_train = initial_weights_in_train(cfg, monkeypatch)
    reference = initial_weights_without_the_check(cfg)
    assert in_train.keys() == reference.keys()
    for name, value in reference.items():
        assert torch.equal(in_train[name], value), name


def test_the_check_still_rejects_bad_settings_and_restores_the_generator():
    from src.train import check_summarizer

    cfg = compose_train_config(["summarizer=lstm_h", "summarizer.hidden_size=0"])
    state = torch.get_rng_state()
    with pytest.raises(Exception, match="hidden_size must be a positive integer"):
        check_summarizer(cfg)
    assert torch.equal(torch.get_rng_state(), state)
    check_summarizer(compose_train_config(["summarizer=bilstm"]))
    assert torch.equal(torch.get_rng_state(), state)
