"""The ``debug`` config group (``debug=fdr|limit|overfit|profiler``) and the trainer flags it sets,
which are overridable without a ``+``."""

from __future__ import annotations

import inspect
import json

import pytest
import torch
from omegaconf import OmegaConf, open_dict

from tests.helpers import CONF_DIR, TINY, compose_train_config, tiny

DEBUG_CONFIGS = sorted(p.stem for p in (CONF_DIR / "debug").glob("*.yaml"))
EXPECTED = {  # what each one sets on the trainer, on top of debug/default.yaml
    "default": {"max_epochs": 1, "detect_anomaly": True},
    "fdr": {"fast_dev_run": True},
    "limit": {"max_epochs": 2, "limit_train_batches": 5, "limit_val_batches": 3, "limit_test_batches": 3},
    "overfit": {"max_epochs": 20, "overfit_batches": 3},
    "profiler": {"max_epochs": 1, "detect_anomaly": False},
}


def test_the_group_holds_the_four_debug_configs_and_their_base():
    assert DEBUG_CONFIGS == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_debug_config_composes_with_csv_logging_only_under_outputs_debug(name):
    cfg = compose_train_config([f"debug={name}"])
    assert cfg.hydra.runtime.choices.debug == name
    for key, value in EXPECTED[name].items():
        assert cfg.trainer[key] == value, key
    assert list(cfg.logger) == ["csv"]  # W&B off
    assert cfg.hydra.run.dir.startswith("outputs/debug/")
    assert cfg.data.num_workers == 0
    assert (cfg.callbacks.early_stopping is None) == (name == "overfit")
    if name == "profiler":
        assert cfg.trainer.profiler._target_ == "lightning.pytorch.profilers.SimpleProfiler"


def test_command_line_overrides_win_over_a_debug_config():
    cfg = compose_train_config(["debug=limit", "trainer.max_epochs=1", "logger=wandb", "trainer.limit_train_batches=2"])
    assert cfg.trainer.max_epochs == 1 and cfg.trainer.limit_train_batches == 2
    assert set(cfg.logger) == {"csv", "wandb"}


def test_no_debug_config_by_default():
    cfg = compose_train_config([])
    assert cfg.hydra.runtime.choices.get("debug") is None
    assert cfg.trainer.limit_train_batches is None and cfg.trainer.fast_dev_run is False
    assert cfg.trainer.overfit_batches == 0.0 and cfg.trainer.profiler is None


@pytest.mark.parametrize("trainer", ["default", "cpu", "gpu", "gpu_graphs", "ddp"])
def test_trainer_flags_are_overridable_without_a_plus(trainer):
    overrides = {
        "limit_train_batches": 2,
        "limit_val_batches": 0.5,
        "limit_test_batches": 1,
        "fast_dev_run": 3,
        "overfit_batches": 1,
        "profiler": "simple",
        "detect_anomaly": True,
        "max_steps": 10,
        "val_check_interval": 0.5,
        "num_sanity_val_steps": 0,
        "accumulate_grad_batches": 2,
        "precision": "bf16-mixed",
    }
    cfg = compose_train_config([f"trainer={trainer}", *(f"trainer.{k}={v}" for k, v in overrides.items())])
    for key, value in overrides.items():
        assert cfg.trainer[key] == value, key


def test_every_trainer_key_is_a_lightning_trainer_argument():
    """A misspelt key would only fail when a run starts; the ones left at Lightning's default say so."""
    from lightning import Trainer

    parameters = inspect.signature(Trainer.__init__).parameters
    trainer = OmegaConf.load(CONF_DIR / "trainer" / "default.yaml")
    unknown = [key for key in trainer if key not in parameters and key != "_target_"]
    assert not unknown, unknown
    for key in (
        "limit_train_batches",
        "limit_val_batches",
        "limit_test_batches",
        "fast_dev_run",
        "overfit_batches",
        "profiler",
        "detect_anomaly",
        "max_steps",
        "min_epochs",
        "max_time",
        "val_check_interval",
    ):
        assert trainer[key] == parameters[key].default, key


def _train(overrides: list[str], out) -> dict:
    from src.train import train

    cfg = compose_train_config(overrides, out)
    with open_dict(cfg):
        del cfg["hydra"]
    return train(cfg)


def test_debug_fdr_runs_one_batch_per_stage_without_checkpoints_or_logs(tmp_path):
    results = _train([*tiny("mean"), "debug=fdr"], tmp_path)
    assert results["status"] == "ok" and results["test/acc"] is not None
    assert json.loads((tmp_path / "results.json").read_text())["status"] == "ok"
    assert not (tmp_path / "checkpoints").exists()  # fast_dev_run writes no checkpoint...
    assert not (tmp_path / "csv" / "metrics.csv").exists()  # ...and logs no metric


@pytest.mark.slow
def test_debug_limit_runs_the_whole_pipeline_on_a_few_batches(tmp_path):
    assert "trainer.max_epochs=1" in TINY
    results = _train([*tiny("lstm_h"), "debug=limit", "data.batch_size=16"], tmp_path)  # 13 batches a full epoch
    assert results["status"] == "ok" and results["test/acc"] is not None and results["val/acc_best"] is not None
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["global_step"] == 5 and last["epoch"] == 0  # limit_train_batches=5, one epoch
    assert (tmp_path / "csv" / "metrics.csv").is_file()


def test_under_overfit_batches_the_training_batches_are_the_same_every_epoch(train_config):
    """Lightning's overfit_batches keeps a few batches fixed; our bucket sampler would reshuffle them
    by (seed, epoch), so the datamodule stops shuffling when the trainer overfits."""
    from types import SimpleNamespace

    import hydra

    cfg = train_config(*TINY, "debug=overfit")
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")

    def first_batches(overfit_batches: int, epoch: int) -> list[list[int]]:
        datamodule.trainer = SimpleNamespace(
            overfit_batches=overfit_batches, world_size=1, global_rank=0, is_global_zero=False, loggers=[]
        )
        loader = datamodule.train_dataloader()
        loader.batch_sampler.set_epoch(epoch)
        return [list(batch) for batch in list(loader.batch_sampler)[:3]]

    assert first_batches(3, 0) == first_batches(3, 1)
    assert first_batches(0, 0) != first_batches(0, 1)  # a normal run still reshuffles every epoch
    assert len(first_batches(3, 0)[0]) == cfg.data.batch_size
