"""The classic suite (conf/data/{mr,cr,subj,mpqa,sst2,sst5,trec}.yaml) and experiment=benchmark: every
config composes to its Hub source (never loaded: no network in tests), reads a local folder instead with
data.data_dir, and the benchmark sweeps every summarizer x the sets found x 3 seeds, each set with its own
validation-chosen settings."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import datasets
import hydra
import pytest
from omegaconf import OmegaConf

from src.data.datamodule import ConfigError, TextDataModule
from src.data.suite import SUITE, local_sets, sweep_sets
from src.summarizers.registry import summarizer_names
from src.utils.errors import find_user_error
from tests.helpers import REPO

SHARED_DATA = REPO.parent / "shared" / "data"

# config: (Hub id, config name, revision, splits ours: theirs, columns ours: theirs, trained on)
HUB = {
    "mr": (
        "cornell-movie-review-data/rotten_tomatoes",
        None,
        None,
        {"train": "train", "validation": "validation", "test": "test"},
        {"text": "text", "label": "label"},
    ),
    "cr": ("SetFit/SentEval-CR", None, None, {"train": "train", "test": "test"}, {"text": "text", "label": "label"}),
    "subj": (
        "SetFit/subj",
        None,
        "f3c1162e678417f664d76b21864fdb87b0615fcf",
        {"train": "train", "test": "test"},
        {"text": "text", "label": "label"},
    ),
    "mpqa": ("jxm/mpqa", None, None, {"train": "train", "test": "test"}, {"text": "sentence", "label": "label"}),
    "sst2": (
        "SetFit/sst2",
        None,
        "00ea8ccb7a54b4e3780a3e51aa3f80361ff849c0",
        {"train": "train", "validation": "validation", "test": "test"},
        {"text": "text", "label": "label"},
    ),
    "sst5": (
        "SetFit/sst5",
        None,
        "e51bdcd8cd3a30da231967c1a249ba59361279a3",
        {"train": "train", "validation": "validation", "test": "test"},
        {"text": "text", "label": "label"},
    ),
    "trec": (
        "CogComp/trec",
        None,
        "refs/convert/parquet",
        {"train": "train", "test": "test"},
        {"text": "text", "label": "coarse_label"},
    ),
    "sst2_phrases": (
        "nyu-mll/glue",
        "sst2",
        None,
        {"train": "train", "test": "validation"},
        {"text": "sentence", "label": "label"},
    ),
    "rotten_tomatoes": (
        "cornell-movie-review-data/rotten_tomatoes",
        None,
        None,
        {"train": "train", "validation": "validation", "test": "test"},
        {"text": "text", "label": "label"},
    ),
}
CLASSES = {
    "mr": 2,
    "cr": 2,
    "subj": 2,
    "mpqa": 2,
    "sst2": 2,
    "sst5": 5,
    "trec": 6,
    "sst2_phrases": 2,
    "rotten_tomatoes": 2,
}


@pytest.fixture(autouse=True)
def no_hub(monkeypatch):
    """Nothing here may reach the Hub: a call to load_dataset fails the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"load_dataset called in a test: {args}")

    monkeypatch.setattr(datasets, "load_dataset", forbidden)


def write_set(folder: Path, classes: int, validation: bool = True) -> Path:
    """A tiny set laid out like ../shared/data/<set>/: train.csv [validation.csv] test.csv, text,label."""
    folder.mkdir(parents=True, exist_ok=True)
    words = ["good", "bad", "what", "who", "where", "fine"]

    def rows(n, offset):
        return "text,label\n" + "".join(
            f"{words[i % classes]} film number {offset + i},{i % classes}\n" for i in range(n)
        )

    (folder / "train.csv").write_text(rows(classes * 8, 0))
    if validation:
        (folder / "validation.csv").write_text(rows(classes * 2, 1000))
    (folder / "test.csv").write_text(rows(classes * 3, 2000))
    return folder


# --------------------------------------------------------------------------- the data configs
def test_the_suite_is_the_seven_classic_sets():
    assert SUITE == ("mr", "cr", "subj", "mpqa", "sst2", "sst5", "trec")
    assert all((REPO / "conf" / "data" / f"{name}.yaml").is_file() for name in SUITE)


@pytest.mark.parametrize("config", sorted(HUB))
def test_each_config_composes_to_its_hub_source(config, train_config, monkeypatch):
    path, name, revision, splits, columns = HUB[config]
    cfg = train_config(f"data={config}", "logger=none")
    assert cfg.data.name == config and cfg.data.data_dir is None and cfg.data.folds is None
    assert (cfg.data.text_column, cfg.data.label_column) == ("text", "label")  # the local layout's columns
    source = cfg.data.source
    assert (source.path, source.name, source.revision) == (path, name, revision)
    assert OmegaConf.to_container(source.splits) == splits and OmegaConf.to_container(source.columns) == columns
    dm = hydra.utils.instantiate(cfg.data)
    assert isinstance(dm, TextDataModule) and dm.name == config
    # the real loader with load_dataset stubbed: the call and the renaming, no network
    calls = {}
    theirs = {
        split: datasets.Dataset.from_dict({columns["text"]: ["a text"], columns["label"]: [0], "extra": [1]})
        for split in set(splits.values())
    }
    monkeypatch.setattr(
        datasets, "load_dataset", lambda *a, **k: calls.update(args=a, kwargs=k) or datasets.DatasetDict(theirs)
    )
    raw = dm.source()
    assert calls["args"] == (path, name) and calls["kwargs"]["revision"] == revision
    assert sorted(raw) == sorted(splits) and all(ds.column_names == ["text", "label"] for ds in raw.values())


# sst2_phrases reads a folder of SST trees instead (tests/test_data_trees.py)
@pytest.mark.parametrize("config", sorted(set(HUB) - {"sst2_phrases"}))
def test_data_dir_reads_a_local_folder_instead_of_the_hub(config, train_config, tmp_path):
    folder = write_set(tmp_path / config, CLASSES[config], validation=config != "trec")
    cfg = train_config(f"data={config}", f"data.data_dir={folder}", "data.cache_dir=null")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")  # load_dataset would fail the test (no_hub)
    assert dm.name == config and dm.num_classes == CLASSES[config]
    k = CLASSES[config]
    sizes = {split: len(data) for split, data in dm.splits.items()}
    if config == "trec":  # no validation.csv, as in ../shared/data/trec: 10% carved from train
        assert sizes["test"] == 3 * k and sizes["train"] + sizes["validation"] == 8 * k and sizes["validation"] > 0
    else:
        assert sizes == {"train": 8 * k, "validation": 2 * k, "test": 3 * k}


def test_data_dir_and_folds_together(train_config, tmp_path):
    folder = write_set(tmp_path / "cr", 2)
    cfg = train_config("data=cr", f"data.data_dir={folder}", "data.cache_dir=null", "data.folds=2", "data.fold=1")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")
    assert len(dm.splits["test"]) == (8 + 2 + 3) * 2 // 2  # half of all 26 rows: the given splits re-split


@pytest.mark.skipif(not (SHARED_DATA / "mr" / "train.csv").is_file(), reason=f"no {SHARED_DATA / 'mr'}")
def test_mr_from_the_shared_folder(train_config):
    cfg = train_config("data=mr", f"data.data_dir={SHARED_DATA / 'mr'}", "data.cache_dir=null")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")
    assert {s: len(d) for s, d in dm.splits.items()} == {"train": 8529, "validation": 1066, "test": 1067}
    assert dm.name == "mr" and dm.label_names == ["0", "1"]


# --------------------------------------------------------------------------- experiment=benchmark
def test_benchmark_sweeps_every_summarizer_and_set_over_three_seeds(train_config):
    cfg = train_config("experiment=benchmark")
    params = cfg.hydra.sweeper.params
    assert params.data == ",".join(SUITE)
    assert params.seed == "0,1,2"
    assert params.summarizer == ",".join(summarizer_names("all"))
    assert list(params) == ["data", "seed", "summarizer"]  # sets vary slowest (the cache is per set)
    assert cfg.data.data_dir is None


def test_benchmark_with_a_data_root_runs_the_sets_found_and_names_the_missing(train_config, tmp_path, caplog):
    write_set(tmp_path / "trec", 6, validation=False)
    write_set(tmp_path / "mr", 2)
    (tmp_path / "sst5").mkdir()  # a folder without train.csv does not count
    assert local_sets(tmp_path) == (["mr", "trec"], ["cr", "subj", "mpqa", "sst2", "sst5"])
    with caplog.at_level(logging.WARNING, logger="src.data.suite"):
        cfg = train_config("experiment=benchmark", f"benchmark.data_root={tmp_path}", "data=trec")
        assert cfg.hydra.sweeper.params.data == "mr,trec"
        assert cfg.hydra.sweeper.params.data == "mr,trec"  # evaluated again: logged once
    lines = [r.getMessage() for r in caplog.records if r.name == "src.data.suite"]
    assert lines == [
        f"benchmark.data_root={tmp_path}: running mr, trec; missing cr, subj, mpqa, sst2, sst5 "
        f"(no <set>/train.csv there)"
    ]
    assert cfg.data.data_dir == str(tmp_path / "trec")
    dm = hydra.utils.instantiate(cfg.data, cache_dir=None)
    dm.setup("fit")  # reads the folder, not the Hub
    assert dm.num_classes == 6


def test_benchmark_data_root_without_any_set_is_a_one_line_error(train_config, tmp_path):
    with pytest.raises(ConfigError) as info:
        sweep_sets(tmp_path)
    assert str(info.value) == (
        f"benchmark.data_root={tmp_path} holds none of the sets mr, cr, subj, mpqa, "
        f"sst2, sst5, trec (expected <set>/train.csv in it)"
    )
    cfg = train_config("experiment=benchmark", f"benchmark.data_root={tmp_path / 'absent'}")
    with pytest.raises(Exception) as info:
        _ = cfg.hydra.sweeper.params.data
    found = find_user_error(info.value)
    assert isinstance(found, ConfigError)
    assert str(found) == f"benchmark.data_root={tmp_path / 'absent'}: no such folder"


@pytest.mark.slow
def test_benchmark_data_root_without_any_set_on_the_command_line(tmp_path):
    """The multirun evaluates its sweep before any job: still one line, exit status 2, no traceback."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.train",
            "-m",
            "experiment=benchmark",
            "logger=none",
            f"benchmark.data_root={tmp_path}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    errors = [line for line in out.stderr.splitlines() if line.strip() and "Warning" not in line]
    assert errors == [
        f"error: benchmark.data_root={tmp_path} holds none of the sets mr, cr, subj, mpqa, "
        f"sst2, sst5, trec (expected <set>/train.csv in it)"
    ], out.stderr[-2000:]


# --------------------------------------------------------------------------- each set's own settings
MR_SETTINGS = {
    "dim": 300,
    "embedding_dropout": 0.5,
    "head_dropout": 0.5,
    "max_epochs": 30,
    "patience": 6,
}
TREC_SETTINGS = {**MR_SETTINGS, "max_epochs": 50, "patience": 8}


def settings(cfg) -> dict:
    return {
        "dim": cfg.model.embedding.dim,
        "embedding_dropout": cfg.model.embedding.dropout,
        "head_dropout": cfg.model.head.dropout,
        "max_epochs": cfg.trainer.max_epochs,
        "patience": cfg.callbacks.early_stopping.patience,
    }


@pytest.mark.parametrize("data", SUITE)
def test_benchmark_applies_each_sets_own_settings(data, train_config):
    cfg = train_config("experiment=benchmark", f"data={data}", "summarizer=mean")
    assert settings(cfg) == (TREC_SETTINGS if data == "trec" else MR_SETTINGS)  # CR, SUBJ, ...: MR's


def test_benchmark_applies_a_summarizers_own_setting_on_its_set(train_config):
    decays = {
        s: train_config("experiment=benchmark", "data=trec", f"summarizer={s}").model.optimizer.weight_decay
        for s in summarizer_names()
    }
    assert decays.pop("bilstm") == 0.0  # conf/tuned/trec/bilstm.yaml
    assert set(decays.values()) == {0.01}
    assert train_config("experiment=benchmark", "data=mr", "summarizer=bilstm").model.optimizer.weight_decay == 0.01


@pytest.mark.parametrize("experiment", ["mr", "trec"])
def test_per_set_experiments_keep_their_settings_and_match_the_benchmarks(experiment, train_config, tmp_path):
    """experiment=mr/trec give exactly what they gave before the suite, and the benchmark gives the same
    set the same settings (conf/tuned/sets/<set>.yaml must not drift from conf/experiment/<set>.yaml)."""
    cfg = train_config(f"experiment={experiment}", f"data.data_dir={tmp_path}", "summarizer=bilstm")
    assert settings(cfg) == (TREC_SETTINGS if experiment == "trec" else MR_SETTINGS)
    assert cfg.model.optimizer.weight_decay == (0.0 if experiment == "trec" else 0.01)
    assert cfg.data._target_ == "src.data.datamodule.FilesDataModule" and cfg.data.name == experiment
    assert cfg.data.folds is None
    bench = train_config("experiment=benchmark", f"data={experiment}", "summarizer=bilstm")
    for part in ("model", "trainer", "callbacks"):
        assert OmegaConf.to_container(bench[part]) == OmegaConf.to_container(cfg[part]), part
    plain = train_config(f"data.data_dir={tmp_path}", "data=files", f"data.name={experiment}", "summarizer=bilstm")
    overridden = {
        k
        for k in ("model", "trainer", "callbacks")
        if OmegaConf.to_container(plain[k]) != OmegaConf.to_container(cfg[k])
    }
    assert overridden == {"model", "trainer", "callbacks"}  # the experiment still changes all three


# --------------------------------------------------------------------------- experiment=sst_phrases
@pytest.mark.parametrize("sst", ["sst2", "sst5"])
@pytest.mark.parametrize("summarizer", ["cnn", "lstm_h"])
def test_sst_phrases_trains_with_the_sentence_runs_settings(train_config, sst, summarizer):
    """The two protocols differ in the training data only: every other setting is the benchmark's."""
    phrases = train_config("experiment=sst_phrases", f"data={sst}_phrases", f"summarizer={summarizer}")
    sentences = train_config("experiment=benchmark", f"data={sst}", f"summarizer={summarizer}")
    assert phrases.seed == sentences.seed
    for key in ("model", "trainer", "callbacks", "summarizer"):
        assert OmegaConf.to_container(phrases[key]) == OmegaConf.to_container(sentences[key]), key
    for key in ("batch_size", "max_length", "min_frequency", "max_vocab", "lowercase", "metric"):
        assert phrases.data[key] == sentences.data[key], key
    params = phrases.hydra.sweeper.params
    assert (params.data, params.seed, params.summarizer) == (
        "sst2_phrases,sst5_phrases",
        "0,1,2",
        "cnn,mean,lstm_h,bilstm_max",
    )
    assert phrases.data.local_source._target_ == "src.data.trees.SSTTrees"


def test_sst_phrases_takes_the_data_dir_of_its_documented_command(train_config, tmp_path):
    """``python -m src.train -m experiment=sst_phrases data.data_dir=../shared/data/sst_trees``: Hydra checks
    the overrides against the config before the sweep swaps the sets in; with the default (synthetic)
    data there is no data.data_dir to set and the sweep did not start."""
    cfg = train_config("experiment=sst_phrases", f"data.data_dir={tmp_path}")
    assert cfg.data.name == "sst2_phrases" and cfg.data.data_dir == str(tmp_path)
    assert cfg.hydra.sweeper.params.data == "sst2_phrases,sst5_phrases"


@pytest.mark.parametrize("summarizer", ["bilstm", "mean"])
def test_trec50_in_the_benchmark_has_trecs_settings_and_keeps_test_only_classes(train_config, summarizer):
    fine = train_config("experiment=benchmark", "data=trec50", f"summarizer={summarizer}")
    coarse = train_config("experiment=benchmark", "data=trec", f"summarizer={summarizer}")
    for key in ("model", "trainer", "callbacks", "summarizer"):
        assert OmegaConf.to_container(fine[key]) == OmegaConf.to_container(coarse[key]), key
    assert fine.data.unseen_labels == "keep" and fine.data.source.columns.label == "fine_label"
