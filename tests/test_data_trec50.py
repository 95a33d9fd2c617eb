"""data=trec50: string labels, validation carved from train, and a class that only the test split has
(unseen_labels=keep): a class of its own with no training example whose rows are scored, where
the default (unseen_labels=error) stops with one line that names the option."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import pandas as pd
import pytest
from omegaconf import open_dict

from src.data.datamodule import ConfigError, DataError, FilesDataModule
from src.data.suite import SUITE
from tests.helpers import REPO, compose_train_config

SHARED = REPO.parent / "shared" / "data" / "trec50"
CLASSES = {"DESC:manner": "how", "ENTY:animal": "which animal", "HUM:ind": "who", "LOC:city": "where"}


def write_trec50(folder: Path, test_only: str = "NUM:code") -> Path:
    """train.csv with four string classes (10 questions each) and test.csv with one more class."""
    folder.mkdir(parents=True, exist_ok=True)
    train = [f"{words} is thing {i} ?,{label}" for label, words in CLASSES.items() for i in range(10)]
    test = [f"{words} is thing {i} ?,{label}" for label, words in CLASSES.items() for i in range(10, 12)]
    test += [f"what is the code {i} ?,{test_only}" for i in range(2)]
    (folder / "train.csv").write_text("text,label\n" + "\n".join(train) + "\n")
    (folder / "test.csv").write_text("text,label\n" + "\n".join(test) + "\n")
    return folder


def test_trec50_is_its_own_set_outside_the_classic_seven(train_config):
    cfg = train_config("data=trec50")
    assert "trec50" not in SUITE and cfg.data.name == "trec50" and cfg.data.unseen_labels == "keep"
    assert (cfg.data.source.path, cfg.data.source.columns.label) == ("CogComp/trec", "fine_label")


def test_a_test_only_class_is_kept_without_training_examples(train_config, tmp_path, caplog):
    cfg = train_config("data=trec50", f"data.data_dir={write_trec50(tmp_path / 'trec50')}", "data.cache_dir=null")
    dm = hydra.utils.instantiate(cfg.data)
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert dm.label_names == [*sorted(CLASSES), "NUM:code"]  # every split's labels, sorted
    assert {s: len(d) for s, d in dm.splits.items()} == {"train": 36, "validation": 4, "test": 10}
    code = dm.label_names.index("NUM:code")
    assert (dm.splits["train"].labels != code).all() and (dm.splits["test"].labels == code).sum() == 2
    assert "1 of 5 classes have no training examples (NUM:code)" in caplog.text


def test_by_default_a_test_only_class_is_an_error_naming_the_option(tmp_path):
    dm = FilesDataModule(data_dir=str(write_trec50(tmp_path)), cache_dir=None)
    with pytest.raises(DataError, match=r"label 'NUM:code' in row 9 never appears in train .*data.unseen_labels=keep"):
        dm.setup("fit")


def test_an_unknown_unseen_labels_value_is_a_one_line_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"^data.unseen_labels must be one of error, keep, got 'drop'$"):
        FilesDataModule(data_dir=str(tmp_path), unseen_labels="drop")


def test_keep_changes_the_cache_key(tmp_path):
    folder = write_trec50(tmp_path / "data", test_only="ENTY:animal")  # no unseen class: same data either way
    paths = []
    for unseen in ("error", "keep"):
        dm = FilesDataModule(data_dir=str(folder), cache_dir=str(tmp_path / "cache"), unseen_labels=unseen)
        dm.setup("fit")
        paths.append(dm.cache_path)
    assert paths[0] != paths[1]


@pytest.mark.slow
def test_a_run_with_a_test_only_class_finishes_and_scores_its_rows(tmp_path):
    from src.train import train

    cfg = compose_train_config(
        [
            "data=trec50",
            f"data.data_dir={write_trec50(tmp_path / 'trec50')}",
            "data.cache_dir=null",
            "summarizer=mean",
            "logger=none",
            "model.embedding.dim=16",
            "model.head.width=16",
            "trainer.max_epochs=2",
            "callbacks.progress_bar.refresh_rate=0",
        ],
        tmp_path / "run",
    )
    with open_dict(cfg):
        del cfg["hydra"]
    results = train(cfg)
    assert results["status"] == "ok" and 0.0 <= results["test/acc"] <= 1.0
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert len(predictions) == 10 and (predictions["label"] == 4).sum() == 2  # NUM:code (id 4) rows scored


@pytest.mark.skipif(not (SHARED / "train.csv").is_file(), reason=f"no {SHARED}")
def test_the_shared_trec50_folder(train_config):
    cfg = train_config("data=trec50", f"data.data_dir={SHARED}", "data.cache_dir=null")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")
    assert {s: len(d) for s, d in dm.splits.items()} == {"train": 4906, "validation": 546, "test": 500}
    assert dm.num_classes == 50 and "DESC:manner" in dm.label_names
