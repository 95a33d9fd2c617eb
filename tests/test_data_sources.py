"""Data sources: local files in every format, Hub-shaped datasets through the Hub loader (offline, on
local folders), label mapping, carved splits, evaluation with a checkpoint's tokenizer and classes,
the tokenized-data cache, and the Hub data configs as Hydra composes them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

import src.utils.resolvers  # noqa: F401
from src.data import datamodule as dm_module
from src.data import preparation as preparation_module
from src.data.datamodule import DataError, FilesDataModule, TextDataModule
from src.data.sources import LocalFiles, load_hub, natural_sorted
from src.data.splitting import carve_splits
from tests.helpers import REPO

ROWS = [
    ("a fine film", "pos"),
    ("a dull film", "neg"),
    ("truly fine", "pos"),
    ("so dull", "neg"),
    ("fine fine fine", "pos"),
    ("dull and long", "neg"),
]


def write(path: Path, rows=ROWS, text="text", label="label") -> Path:
    """Write ``rows`` in the format the extension names."""
    frame = pd.DataFrame({text: [t for t, _ in rows], label: [lab for _, lab in rows]})
    ext = path.suffix
    if ext == ".csv":
        frame.to_csv(path, index=False)
    elif ext == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif ext == ".json":
        path.write_text(json.dumps(frame.to_dict(orient="records")))
    elif ext == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records")))
    elif ext == ".parquet":
        frame.to_parquet(path, index=False)
    elif ext == ".txt":
        path.write_text("".join(f"{lab}\t{t}\n" for t, lab in rows))
    return path


def module(tmp_path: Path, **kwargs) -> FilesDataModule:
    kwargs.setdefault("cache_dir", None)
    return FilesDataModule(**kwargs)


def decoded(dm: TextDataModule, split: str) -> list[tuple[str, str]]:
    data = dm.splits[split]
    return [
        (" ".join(dm.tokenizer.id_to_token(int(i)) for i in ids), dm.label_names[int(y)])
        for ids, y in zip(data.ids, data.labels)
    ]


# --------------------------------------------------------------------------- local files
@pytest.mark.parametrize("ext", [".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt"])
def test_every_format_reads_the_same_examples(tmp_path, ext):
    dm = module(
        tmp_path,
        train_file=str(write(tmp_path / f"train{ext}")),
        validation_file=str(write(tmp_path / f"validation{ext}", ROWS[:2])),
        test_file=str(write(tmp_path / f"test{ext}", ROWS[2:4])),
    )
    dm.setup("fit")
    assert dm.label_names == ["neg", "pos"]  # string labels in sorted order
    assert decoded(dm, "train") == ROWS
    assert decoded(dm, "validation") == ROWS[:2]
    assert decoded(dm, "test") == ROWS[2:4]
    assert dm.splits["train"].labels.tolist() == [1, 0, 1, 0, 1, 0]


def test_tsv_has_no_quoting_and_na_strings_stay_text(tmp_path):
    # GLUE-style TSV: a lone double quote is text, and "NA" / "null" are words, not missing values
    path = tmp_path / "train.tsv"
    path.write_text('sentence\tlabel\nhe said " fine\tNA\nnull\tnull\nNA\tNA\nok "quoted"\tnull\n')
    raw = LocalFiles(train_file=str(path), text_column="sentence")()
    assert raw["train"]["sentence"][:] == ['he said " fine', "null", "NA", 'ok "quoted"']
    assert raw["train"]["label"][:] == ["NA", "null", "NA", "null"]


def test_labels_map_to_ids_in_a_stable_natural_order(tmp_path):
    rows = [(f"text {i}", label) for i, label in enumerate(["b", "10", "a", "2", "b", "10", "a", "2"])]
    dm = module(
        tmp_path,
        train_file=str(write(tmp_path / "train.csv", rows)),
        validation_file=str(write(tmp_path / "v.csv", rows)),
        test_file=str(write(tmp_path / "t.csv", rows)),
    )
    dm.setup()
    assert dm.label_names == ["2", "10", "a", "b"]
    assert dm.splits["train"].labels.tolist() == [3, 1, 2, 0, 3, 1, 2, 0]
    assert natural_sorted(["x", "-1", "3", "1"]) == ["-1", "1", "3", "x"]


def test_integer_labels_that_do_not_start_at_zero(tmp_path):
    rows = [("good", 2), ("bad", 1), ("great", 2), ("awful", 1)]  # the Yelp CSV convention: 1, 2
    dm = module(
        tmp_path,
        train_file=str(write(tmp_path / "train.csv", rows)),
        validation_file=str(write(tmp_path / "v.csv", rows)),
        test_file=str(write(tmp_path / "t.csv", rows)),
    )
    dm.setup()
    assert dm.label_names == ["1", "2"]
    assert dm.splits["test"].labels.tolist() == [1, 0, 1, 0]


def test_data_dir_finds_the_split_files_and_names_the_data(tmp_path):
    folder = tmp_path / "mr"
    folder.mkdir()
    write(folder / "train.csv")
    write(folder / "dev.jsonl", ROWS[:2])
    write(folder / "test.parquet", ROWS[2:4])
    dm = module(tmp_path, data_dir=str(folder))
    assert dm.name == "mr"
    dm.setup()
    assert decoded(dm, "validation") == ROWS[:2] and decoded(dm, "test") == ROWS[2:4]
    assert FilesDataModule(train_file=str(folder / "train.csv")).name == "mr"
    assert FilesDataModule(train_file=str(folder / "movies.csv")).name == "movies"


# --------------------------------------------------------------------------- carving
def test_carving_is_stratified_seeded_and_a_partition():
    labels = ["a"] * 600 + ["b"] * 300 + ["c"] * 100
    first = carve_splits(labels, {"validation": 0.1, "test": 0.2}, seed=0)
    again = carve_splits(labels, {"validation": 0.1, "test": 0.2}, seed=0)
    other = carve_splits(labels, {"validation": 0.1, "test": 0.2}, seed=1)
    assert all(np.array_equal(first[s], again[s]) for s in first)
    assert not np.array_equal(first["validation"], other["validation"])
    everything = np.concatenate([first["train"], first["validation"], first["test"]])
    assert sorted(everything.tolist()) == list(range(1000))
    labels = np.asarray(labels)
    for split, fraction in (("validation", 0.1), ("test", 0.2)):
        counts = {c: int((labels[first[split]] == c).sum()) for c in "abc"}
        assert counts == {"a": 600 * fraction, "b": 300 * fraction, "c": 100 * fraction}


def test_carving_keeps_every_class_in_train():
    index = carve_splits(["a"] * 20 + ["rare"], {"validation": 0.5}, seed=0)
    assert 20 in index["train"]  # the single "rare" row stays in train


def test_missing_splits_are_carved_with_a_warning_for_test(tmp_path, caplog):
    rows = [(f"word{i} film", "pos" if i % 3 else "neg") for i in range(60)]
    dm = module(
        tmp_path,
        train_file=str(write(tmp_path / "train.csv", rows)),
        validation_fraction=0.2,
        test_fraction=0.1,
        split_seed=0,
    )
    with caplog.at_level(logging.INFO, logger="src.data.splitting"):
        dm.setup()
    sizes = {s: len(d) for s, d in dm.splits.items()}
    assert sizes == {"train": 42, "validation": 12, "test": 6}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no test split; carved 6 rows" in w for w in warnings)
    assert not any("validation" in w for w in warnings)  # carving validation is routine: info only
    texts = {split: {t for t, _ in decoded(dm, split)} for split in sizes}
    assert not texts["train"] & texts["validation"] and not texts["train"] & texts["test"]
    # the split depends on split_seed, not on the training seed
    again = module(
        tmp_path,
        train_file=str(tmp_path / "train.csv"),
        validation_fraction=0.2,
        test_fraction=0.1,
        split_seed=0,
        seed=123,
    )
    again.setup()
    assert decoded(again, "test") == decoded(dm, "test")


# --------------------------------------------------------------------------- evaluation with a checkpoint's vocabulary
def test_a_test_file_alone_works_with_a_given_tokenizer_and_classes(tmp_path):
    trained = module(
        tmp_path, train_file=str(write(tmp_path / "train.csv")), validation_fraction=0.34, test_fraction=0.34
    )
    trained.setup()
    new = [("fine", "pos"), ("unseen words here", "neg")]  # every "pos" training row holds "fine"
    only_test = module(tmp_path, test_file=str(write(tmp_path / "new.csv", new)), train_file=None)
    with pytest.raises(DataError, match="no 'train' split"):
        only_test.setup()  # without a tokenizer it must train one
    only_test.setup("test", tokenizer=trained.tokenizer, label_names=trained.label_names)
    assert list(only_test.splits) == ["test"]
    assert only_test.label_names == ["neg", "pos"] and only_test.vocab_size == trained.vocab_size
    assert decoded(only_test, "test") == [("fine", "pos"), ("[UNK] [UNK] [UNK]", "neg")]


def test_given_class_names_read_integer_labels_as_positions(tmp_path):
    rows = [("what is x", 0), ("who is y", 1), ("where is z", 2)]
    dm = module(
        tmp_path,
        train_file=str(write(tmp_path / "train.csv", rows * 4)),
        label_names=["DESC", "HUM", "LOC"],
        validation_fraction=0.25,
        test_fraction=0.25,
    )
    dm.setup()
    assert dm.label_names == ["DESC", "HUM", "LOC"]
    assert dict(decoded(dm, "train"))["who is y"] == "HUM"


def test_integer_trained_classes_are_looked_up_by_name(tmp_path):
    # a model trained on labels 1/2 (names "1", "2") evaluated on the same kind of file
    dm = module(tmp_path, test_file=str(write(tmp_path / "t.csv", [("x", 2), ("y", 1)])))
    trained = module(tmp_path, train_file=str(write(tmp_path / "train.csv", [("x", 1), ("y", 2)] * 10)))
    trained.setup()
    dm.setup("test", tokenizer=trained.tokenizer, label_names=["1", "2"])
    assert dm.splits["test"].labels.tolist() == [1, 0]


# --------------------------------------------------------------------------- Hub loader, on Hub-shaped local folders
def hub_folder(root: Path, name: str = "plain_text") -> Path:
    """A folder laid out like a Hub dataset repo: README with configs, parquet with ClassLabel features."""
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos", "mixed"])}
    )
    splits = {
        "train": [("good", 1), ("bad", 0), ("so so", 2)] * 10,
        "validation": [("fine", 1), ("poor", 0), ("meh", 2)],
        "test": [("unlabelled", -1)] * 3,
    }  # like GLUE's test split
    (root / name).mkdir(parents=True)
    for split, rows in splits.items():
        ds = datasets.Dataset.from_dict(
            {"text": [t for t, _ in rows], "label": [y for _, y in rows]}, features=features
        )
        ds.to_parquet(str(root / name / f"{split}-00000-of-00001.parquet"))
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: plain_text\n  data_files:\n"
        + "".join(f"  - split: {s}\n    path: {name}/{s}-*\n" for s in splits)
        + "---\n# test dataset\n"
    )
    return root


def test_hub_loader_reads_a_hub_shaped_folder_with_its_class_names(tmp_path):
    root = hub_folder(tmp_path / "repo")
    raw = load_hub(
        str(root), "plain_text", splits={"train": "train", "test": "validation"}, cache_dir=str(tmp_path / "hf")
    )
    assert list(raw) == ["train", "test"]  # their unlabelled test split is dropped
    assert raw["test"]["text"][:] == ["fine", "poor", "meh"]
    dm = TextDataModule(source=lambda: raw, name="hubby", cache_dir=None)
    dm.setup()
    assert dm.label_names == ["neg", "pos", "mixed"]  # the ClassLabel order, not sorted
    assert sorted(dm.splits) == ["test", "train", "validation"]  # validation carved from train
    assert [label for _, label in decoded(dm, "test")] == ["pos", "neg", "mixed"]  # fine, poor, meh


def test_hub_loader_default_split_mapping_and_unlabelled_rows(tmp_path):
    root = hub_folder(tmp_path / "repo")
    raw = load_hub(str(root), "plain_text", cache_dir=str(tmp_path / "hf"))
    assert sorted(raw) == ["test", "train", "validation"]
    dm = TextDataModule(source=lambda: raw, name="glue_like", cache_dir=None)
    with pytest.raises(DataError, match=r"glue_like/test .*row 1 has label -1 outside its 3 classes"):
        dm.setup()
    with pytest.raises(DataError, match=r"no split 'dev' \(splits: train, validation, test\)"):
        load_hub(str(root), "plain_text", splits={"validation": "dev"}, cache_dir=str(tmp_path / "hf"))


def test_hub_loader_respects_hf_datasets_offline(tmp_path):
    """An uncached Hub id with HF_DATASETS_OFFLINE=1: a quick one-line error, no network."""
    code = (
        "from src.data.sources import load_hub, DataError\n"
        f"try:\n    load_hub('seq2vec-test/not-cached', cache_dir={str(tmp_path / 'hf')!r})\n"
        "except DataError as e:\n    print('DATAERROR', e)\n"
    )
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "home")}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - start < 60
    line = next(row for row in out.stdout.splitlines() if row.startswith("DATAERROR"))
    assert "seq2vec-test/not-cached" in line and "HF_DATASETS_OFFLINE=1" in line


@pytest.mark.parametrize(
    "config, path, name, revision, text, label, splits",
    [
        ("imdb", "stanfordnlp/imdb", "plain_text", None, "text", "label", {"train": "train", "test": "test"}),
        ("ag_news", "fancyzhx/ag_news", None, None, "text", "label", {"train": "train", "test": "test"}),
        ("sst2_phrases", "nyu-mll/glue", "sst2", None, "sentence", "label", {"train": "train", "test": "validation"}),
        (
            "rotten_tomatoes",
            "cornell-movie-review-data/rotten_tomatoes",
            None,
            None,
            "text",
            "label",
            {"train": "train", "validation": "validation", "test": "test"},
        ),
        (
            "yelp_polarity",
            "fancyzhx/yelp_polarity",
            "plain_text",
            None,
            "text",
            "label",
            {"train": "train", "test": "test"},
        ),
        (
            "trec",
            "CogComp/trec",
            None,
            "refs/convert/parquet",
            "text",
            "coarse_label",
            {"train": "train", "test": "test"},
        ),
    ],
)
def test_hub_data_configs_compose_to_the_loader(config, path, name, revision, text, label, splits, monkeypatch):
    """``text``/``label``: the dataset's columns, renamed to ours (text, label) by the loader.
    The classic suite's configs: tests/test_data_suite.py."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={config}", "logger=none"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    monkeypatch.setenv("SEQ2VEC_CACHE", "/tmp/seq2vec-test-cache")
    import hydra

    dm = hydra.utils.instantiate(cfg.data)
    assert isinstance(dm, TextDataModule) and dm.name == config
    assert (dm.text_column, dm.label_column, dm.max_length) == ("text", "label", 256)
    assert str(dm.cache_dir) == "/tmp/seq2vec-test-cache"
    calls = {}
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda *a, **k: (
            calls.update(args=a, kwargs=k)
            or datasets.DatasetDict(
                {s: datasets.Dataset.from_dict({text: ["x"], label: [0]}) for s in set(splits.values())}
            )
        ),
    )
    raw = dm.source()  # the real loader, with load_dataset stubbed out: no network
    assert calls["args"] == (path, name) and calls["kwargs"]["revision"] == revision
    assert sorted(raw) == sorted(splits)
    assert all(ds.column_names == ["text", "label"] for ds in raw.values())


def test_hub_loader_renames_the_columns_it_keeps(tmp_path):
    root = hub_folder(tmp_path / "repo")
    raw = load_hub(
        str(root),
        "plain_text",
        splits={"train": "train"},
        columns={"sentence": "text", "y": "label"},
        cache_dir=str(tmp_path / "hf"),
    )
    assert raw["train"].column_names == ["sentence", "y"]
    assert raw["train"].features["y"].names == ["neg", "pos", "mixed"]  # the ClassLabel survives
    with pytest.raises(DataError, match=r"no column 'title' \(columns: text, label\); set data.source.columns"):
        load_hub(str(root), "plain_text", columns={"text": "title"}, cache_dir=str(tmp_path / "hf"))


def test_files_config_and_the_cache_dir_default(monkeypatch, tmp_path):
    GlobalHydra.instance().clear()
    monkeypatch.delenv("SEQ2VEC_CACHE", raising=False)
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["data=files", f"data.train_file={tmp_path}/mr/train.csv", "logger=none"],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    import hydra

    dm = hydra.utils.instantiate(cfg.data)
    assert isinstance(dm, FilesDataModule) and dm.name == "mr"
    assert dm.cache_dir == Path("~/.cache/seq2vec").expanduser()


# --------------------------------------------------------------------------- cache
def cached_module(tmp_path: Path, **kwargs) -> FilesDataModule:
    return FilesDataModule(
        train_file=str(tmp_path / "train.csv"),
        cache_dir=str(tmp_path / "cache"),
        validation_fraction=0.25,
        test_fraction=0.25,
        **kwargs,
    )


def test_second_run_reads_the_cache_without_tokenizing(tmp_path, monkeypatch):
    write(tmp_path / "train.csv", ROWS * 4)
    first = cached_module(tmp_path)
    first.setup()
    assert not first.cache_hit and (first.cache_path / "meta.json").is_file()

    def forbidden(*args, **kwargs):
        raise AssertionError("tokenizer training / encoding must be skipped on a cache hit")

    monkeypatch.setattr(preparation_module, "train_word_tokenizer", forbidden)
    monkeypatch.setattr(preparation_module, "encode_flat", forbidden)
    second = cached_module(tmp_path)
    second.setup()
    assert second.cache_hit
    assert second.label_names == first.label_names and second.tokenizer.to_str() == first.tokenizer.to_str()
    for split in first.splits:
        a, b = first.splits[split], second.splits[split]
        assert np.array_equal(a.flat, b.flat) and np.array_equal(a.offsets, b.offsets)
        assert np.array_equal(a.labels, b.labels)


def test_cache_key_follows_content_and_settings(tmp_path):
    write(tmp_path / "train.csv", ROWS * 4)
    base = cached_module(tmp_path)
    base.setup()
    for changed in (dict(max_length=2), dict(min_frequency=2), dict(split_seed=1), dict(lowercase=False)):
        other = cached_module(tmp_path, **changed)
        other.setup()
        assert not other.cache_hit and other.cache_path != base.cache_path, changed
    same = cached_module(tmp_path, seed=7, batch_size=3)  # the training seed and batch size change nothing cached
    same.setup()
    assert same.cache_hit
    write(tmp_path / "train.csv", ROWS * 4 + [("one more", "pos")])
    edited = cached_module(tmp_path)
    edited.setup()
    assert not edited.cache_hit


def test_a_corrupt_cache_entry_is_rebuilt(tmp_path, caplog):
    write(tmp_path / "train.csv", ROWS * 4)
    first = cached_module(tmp_path)
    first.setup()
    flat = np.array(first.splits["train"].flat)
    tokens = first.cache_path / "train.flat.npy"
    tokens.write_bytes(tokens.read_bytes()[:100])  # truncated, as by a full disk
    again = cached_module(tmp_path)
    with caplog.at_level(logging.WARNING):
        again.setup()
    assert not again.cache_hit and "ignoring unreadable cache entry" in caplog.text
    assert np.array_equal(again.splits["train"].flat, flat)
    third = cached_module(tmp_path)
    third.setup()
    assert third.cache_hit and np.array_equal(third.splits["train"].flat, flat)  # rewritten whole


def test_a_write_killed_midway_leaves_no_cache_file(tmp_path, monkeypatch):
    write(tmp_path / "train.csv", ROWS * 4)

    def dies_midway(file, array, **kwargs):
        file.write(b"\x93NUMPY half an array")
        raise KeyboardInterrupt  # as if the run were killed while writing

    monkeypatch.setattr(dm_module.cache.np, "save", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        cached_module(tmp_path).setup()
    assert list((tmp_path / "cache").iterdir()) == []  # no final entry, no temp folder
    monkeypatch.undo()
    fresh = cached_module(tmp_path)
    fresh.setup()
    assert not fresh.cache_hit and (fresh.cache_path / "meta.json").is_file()


def test_truncation_to_max_length(tmp_path, caplog):
    rows = [("one two three four five six", "pos"), ("short", "neg")] * 4
    dm = module(
        tmp_path,
        train_file=str(write(tmp_path / "train.csv", rows)),
        max_length=3,
        validation_fraction=0.25,
        test_fraction=0.25,
    )
    with caplog.at_level(logging.INFO):
        dm.setup()
    assert dm.splits["train"].lengths.max() == 3
    assert [t for t, _ in decoded(dm, "train")][:1] in (["one two three"], ["short"])
    assert "to max_length=3 tokens" in caplog.text


PREPARE_AND_DIGEST = """
import hashlib, sys
from src.data.datamodule import FilesDataModule
dm = FilesDataModule(data_dir=sys.argv[1], cache_dir=sys.argv[2])
dm.setup()
digest = hashlib.sha256()
for split in sorted(dm.splits):
    for array in (dm.splits[split].flat, dm.splits[split].offsets, dm.splits[split].labels):
        digest.update(array.tobytes())
print("DIGEST", digest.hexdigest(), "HIT" if dm.cache_hit else "MISS")
"""


@pytest.mark.slow
def test_two_jobs_preparing_the_same_data_at_once_both_get_whole_data(tmp_path):
    """A parallel sweep shares one cache dir: two processes prepare the same set at the same time;
    both get the same data, neither reads a partial file, and the cache left behind is whole."""
    data = tmp_path / "data"
    data.mkdir()
    rows = [f"sentence {i} is {'good' if i % 2 else 'bad'} and {'long ' * (i % 13)}indeed" for i in range(20_000)]
    pd.DataFrame({"text": rows, "label": [i % 2 for i in range(20_000)]}).to_csv(data / "train.csv", index=False)
    cache = tmp_path / "cache"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = [sys.executable, "-c", PREPARE_AND_DIGEST, str(data), str(cache)]
    procs = [
        subprocess.Popen(run, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    digests = [next(line.split()[1] for line in out.splitlines() if line.startswith("DIGEST")) for out, _ in outs]
    assert digests[0] == digests[1]
    assert len(list(cache.iterdir())) == 1 and not list(cache.glob(".*"))  # one whole entry, no leftovers
    third = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert f"DIGEST {digests[0]} HIT" in third.stdout, third.stderr[-2000:]
