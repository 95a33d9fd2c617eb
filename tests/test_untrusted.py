"""Untrusted files: a checkpoint is data, never code.

A crafted checkpoint carries a pickle payload whose unpickling would create a marker file, or
hyperparameters whose ``_target_`` Hydra would call. Every path the project loads checkpoints
through refuses them in one line, and the marker never appears: ``src.loading`` (``src.eval``,
``src.predict``), ``prepare_resume`` and Lightning's own load (``AtomicCheckpointIO``) for
``src.train``'s resume and its test of the best checkpoint. The command-line cases are in
tests/test_cli_errors.py (``*_pickle_checkpoint``, ``*_target_checkpoint``).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from src.checkpointing import AtomicCheckpointIO, prepare_resume
from src.loading import CheckpointError, load_checkpoint, load_classifier
from tests.helpers import compose_train_config
from tests.test_cli_errors import _Payload, write_checkpoints


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    train = tmp_path / "train.csv"
    rows = [("a fine film", "pos"), ("a dull film", "neg")] * 10
    train.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))
    return write_checkpoints(tmp_path, train)


def test_a_pickle_payload_is_refused_before_it_runs(files):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(files["pickle.ckpt"])
    assert str(error.value) == (
        f"checkpoint {files['pickle.ckpt']} holds Python objects (io.open), not only tensors and plain data; "
        "refused, since loading it could run code (use checkpoints written by src.train)"
    )
    assert not files["marker"].exists()
    # the same file loaded without weights_only would have run it: the test's payload works
    torch.load(files["pickle.ckpt"], weights_only=False)
    assert files["marker"].exists()


def test_lightnings_load_path_is_weights_only_whatever_the_environment(files, monkeypatch):
    """Lightning 2.6 passes weights_only=None to torch.load (torch's default, which an environment
    variable can turn off); the project's checkpoint IO always asks for weights only."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(pickle.UnpicklingError):
        AtomicCheckpointIO().load_checkpoint(files["pickle.ckpt"])
    with pytest.raises(pickle.UnpicklingError):
        AtomicCheckpointIO().load_checkpoint(files["pickle.ckpt"], weights_only=False)
    assert not files["marker"].exists()
    assert AtomicCheckpointIO().load_checkpoint(files["model.ckpt"])["seq2vec"]["tokenizer"]


def test_resuming_training_from_a_pickle_payload_is_refused(files, tmp_path):
    import hydra

    cfg = compose_train_config(["logger=none", f"ckpt_path={files['pickle.ckpt']}"], tmp_path / "run")
    model = hydra.utils.instantiate(cfg.model, summarizer=cfg.summarizer, vocab_size=20, num_classes=2)
    with pytest.raises(CheckpointError, match="holds Python objects"):
        prepare_resume(cfg, model)
    assert not files["marker"].exists()


@pytest.mark.parametrize(
    "summarizer,message",
    [
        (
            {"_target_": "builtins.open", "file": "{marker}", "mode": "w"},
            "names summarizer 'builtins.open': not a class of this project",
        ),
        ({"_target_": "os.system", "_args_": ["touch {marker}"]}, "names summarizer 'os.system'"),
        (
            {
                "_target_": "src.summarizers.MeanSummarizer",
                "x": {"_target_": "builtins.open", "file": "{marker}", "mode": "w"},
            },
            "has a _target_ at summarizer.x._target_: refused",
        ),
        (
            {"_target_": "src.summarizers.MeanSummarizer", "x": [{"_target_": "builtins.open", "file": "{marker}"}]},
            "has a _target_ at summarizer.x[0]._target_: refused",
        ),
        (
            {"_target_": "src.utils.io.write_json_atomic", "path": "{marker}", "data": {}},
            "names summarizer src.utils.io.write_json_atomic, which is not a Summarizer; refused",
        ),
        ({"_target_": "src.summarizers.NoSuchThing"}, "cannot rebuild its model"),
    ],
    ids=["builtin", "os_system", "nested", "nested_in_list", "project_function", "unknown_class"],
)
def test_a_target_in_a_checkpoint_is_never_called(files, tmp_path, summarizer, message):
    good = torch.load(files["model.ckpt"], weights_only=True)
    summarizer = json.loads(json.dumps(summarizer).replace("{marker}", str(files["marker"])))
    path = tmp_path / "crafted.ckpt"
    torch.save({**good, "hyper_parameters": {**good["hyper_parameters"], "summarizer": summarizer}}, path)
    with pytest.raises(CheckpointError) as error:
        load_classifier(path)
    assert message in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)
    assert not files["marker"].exists()


def test_training_settings_in_a_checkpoint_are_not_kept_for_inference(files, tmp_path):
    """The optimizer and scheduler configs name classes too; inference never builds them, and the
    model rebuilt from a checkpoint drops them rather than carry them on."""
    good = torch.load(files["model.ckpt"], weights_only=True)
    hostile = {"_target_": "builtins.open", "file": str(files["marker"]), "mode": "w", "_partial_": True}
    path = tmp_path / "optimizer.ckpt"
    torch.save({**good, "hyper_parameters": {**good["hyper_parameters"], "optimizer": hostile}}, path)
    model, tokenizer, _ = load_classifier(path)
    assert model.hparams.optimizer is None and model.hparams.scheduler is None
    assert not files["marker"].exists()


def test_text_fields_are_parsed_as_data(files, tmp_path):
    """The tokenizer is JSON read by the tokenizers library; label names must be plain strings."""
    good = torch.load(files["model.ckpt"], weights_only=True)
    for name, checkpoint, message in [
        (
            "tokenizer",
            {**good, "seq2vec": {"tokenizer": '{"model": {"type": "__import__(\'os\')"}}'}},
            "has an unreadable tokenizer",
        ),
        (
            "labels",
            {**good, "hyper_parameters": {**good["hyper_parameters"], "label_names": [{"name": "neg"}, 1]}},
            "has label_names that are not a list of strings",
        ),
    ]:
        path = tmp_path / f"{name}.ckpt"
        torch.save(checkpoint, path)
        with pytest.raises(CheckpointError, match=message):
            load_classifier(path)
    # and a genuine one still loads, with its label names as given
    model, tokenizer, _ = load_classifier(files["model.ckpt"])
    assert list(model.hparams.label_names) == ["neg", "pos"] and tokenizer.get_vocab_size() > 2


def test_the_payload_class_is_what_the_tests_think(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_a_pickle_in_the_tokenized_data_cache_is_never_unpickled(files, tmp_path, caplog):
    """The cache is read with allow_pickle=False: a cache entry whose arrays carry a pickled object
    is ignored with a warning and rebuilt, and nothing in it runs."""
    import logging

    import numpy as np

    from src.data.datamodule import FilesDataModule

    cache = tmp_path / "cache"
    first = FilesDataModule(train_file=str(tmp_path / "train.csv"), cache_dir=str(cache))
    first.setup()
    marker = tmp_path / "ran"
    labels = first.cache_path / "train.labels.npy"  # same name, so the next set-up reads it
    np.save(labels, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    again = FilesDataModule(train_file=str(tmp_path / "train.csv"), cache_dir=str(cache))
    with caplog.at_level(logging.WARNING):
        again.setup()
    assert not again.cache_hit and "ignoring unreadable cache entry" in caplog.text
    assert not marker.exists()
    assert again.vocab_size == first.vocab_size
