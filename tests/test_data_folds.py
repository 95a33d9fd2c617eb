"""Cross-validation folds (data.folds=K data.fold=i): disjoint, covering, stratified, fixed by split_seed
alone, part of the tokenized-data cache key; bad values are one-line errors naming the key."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from src.data.datamodule import ConfigError, DataError, FilesDataModule, check_folds
from src.data.splitting import stratified_folds


# 100 rows, unbalanced on purpose: 50 "a", 23 "b", 7 "c" in train.csv and 10 / 6 / 4 more in test.csv.
# Row i reads "<class word> d<i // 10> e<i % 10>": unique, and every word occurs in many rows, so that
# it decodes to itself (not [UNK]) whichever rows a fold trains on.
def rows(ids, label, word):
    return [(f"{word} d{i // 10} e{i % 10}", label) for i in ids]


TRAIN = rows(range(0, 50), "a", "alpha") + rows(range(50, 73), "b", "beta") + rows(range(73, 80), "c", "gamma")
TEST = rows(range(80, 90), "a", "alpha") + rows(range(90, 96), "b", "beta") + rows(range(96, 100), "c", "gamma")


def write_csv(path: Path, rows) -> Path:
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    write_csv(tmp_path / "train.csv", TRAIN)
    write_csv(tmp_path / "test.csv", TEST)
    return tmp_path


def fold_module(folder: Path, fold: int, folds: int = 5, **kwargs) -> FilesDataModule:
    kwargs.setdefault("cache_dir", None)
    dm = FilesDataModule(data_dir=str(folder), folds=folds, fold=fold, **kwargs)
    dm.setup()
    return dm


def texts(dm: FilesDataModule, split: str) -> list[str]:
    data = dm.splits[split]
    return [" ".join(dm.tokenizer.id_to_token(int(i)) for i in ids) for ids in data.ids]


def labels(dm: FilesDataModule, split: str) -> list[str]:
    return [dm.label_names[int(y)] for y in dm.splits[split].labels]


# --------------------------------------------------------------------------- the fold assignment itself
def test_stratified_folds_partition_the_rows_within_one_example_per_class():
    keys = ["a"] * 103 + ["b"] * 57 + ["c"] * 11
    fold_of = stratified_folds(keys, 10, seed=0)
    assert sorted(set(fold_of.tolist())) == list(range(10))  # every row in exactly one of the 10 folds
    sizes = np.bincount(fold_of, minlength=10)
    assert sizes.sum() == len(keys) and sizes.max() - sizes.min() <= 1
    keys = np.asarray(keys)
    for cls, total in (("a", 103), ("b", 57), ("c", 11)):
        per_fold = np.bincount(fold_of[keys == cls], minlength=10)
        assert per_fold.min() >= total // 10 and per_fold.max() <= -(-total // 10)  # floor .. ceil


def test_stratified_folds_depend_on_the_seed_only():
    keys = ["x", "y"] * 40
    assert np.array_equal(stratified_folds(keys, 4, seed=3), stratified_folds(keys, 4, seed=3))
    assert not np.array_equal(stratified_folds(keys, 4, seed=3), stratified_folds(keys, 4, seed=4))


# --------------------------------------------------------------------------- folds through the datamodule
def test_folds_are_disjoint_cover_every_row_and_are_stratified(folder):
    everything = {t for t, _ in TRAIN + TEST}
    seen = []
    for fold in range(5):
        dm = fold_module(folder, fold)
        test, train, validation = set(texts(dm, "test")), set(texts(dm, "train")), set(texts(dm, "validation"))
        assert not test & train and not test & validation and not train & validation
        assert test | train | validation == everything  # the given test split was pooled and re-split
        counts = Counter(labels(dm, "test"))
        for cls, total in (("a", 60), ("b", 29), ("c", 11)):
            assert abs(counts[cls] - total / 5) < 1  # within one example per class
        val_counts = Counter(labels(dm, "validation"))
        assert set(val_counts) == {"a", "b", "c"}  # validation is carved stratified from the other folds
        seen.append(test)
    assert sum(len(t) for t in seen) == len(everything) and set().union(*seen) == everything


def test_folds_are_the_same_for_every_training_seed_and_change_with_split_seed(folder):
    base = fold_module(folder, 2, seed=0)
    assert texts(fold_module(folder, 2, seed=123), "test") == texts(base, "test")
    assert texts(fold_module(folder, 2, seed=123), "validation") == texts(base, "validation")
    assert set(texts(fold_module(folder, 2, split_seed=1), "test")) != set(texts(base, "test"))


def test_without_folds_the_fixed_splits_are_kept(folder):
    dm = FilesDataModule(data_dir=str(folder), cache_dir=None)
    dm.setup()
    assert len(dm.splits["test"]) == len(TEST) and Counter(labels(dm, "test")) == {"a": 10, "b": 6, "c": 4}


def test_the_fold_is_part_of_the_cache_key(folder, tmp_path):
    cache = tmp_path / "cache"
    first = fold_module(folder, 0, cache_dir=str(cache))
    other = fold_module(folder, 1, cache_dir=str(cache))
    assert not first.cache_hit and not other.cache_hit and first.cache_path != other.cache_path
    again = fold_module(folder, 0, cache_dir=str(cache))
    assert again.cache_hit and texts(again, "test") == texts(first, "test")
    fixed = FilesDataModule(data_dir=str(folder), cache_dir=str(cache))
    fixed.setup()
    assert not fixed.cache_hit and fixed.cache_path not in (first.cache_path, other.cache_path)


# --------------------------------------------------------------------------- bad values: one line naming the key
@pytest.mark.parametrize(
    "folds, fold, key",
    [
        (None, 0, "data.fold=0"),  # a fold without folds
        (1, 0, "data.folds"),  # fewer than 2 folds
        (0, 0, "data.folds"),
        (2.5, 0, "data.folds"),  # not an integer
        ("ten", 0, "data.folds"),
        (True, 0, "data.folds"),
        (5, None, "data.folds=5 needs data.fold"),
        (5, 5, "data.fold"),  # fold >= folds
        (5, -1, "data.fold"),
        (5, 1.5, "data.fold"),
    ],
)
def test_bad_fold_settings_are_one_line_config_errors(folds, fold, key):
    with pytest.raises(ConfigError) as info:
        check_folds(folds, fold)
    message = str(info.value)
    assert key in message and "\n" not in message
    bad = fold if key.startswith("data.fold") and not key.startswith("data.folds") else folds
    assert repr(bad) in message or str(bad) in message


def test_bad_fold_settings_fail_before_any_data_is_read(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.fold must be an integer in 0\.\.2 with data\.folds=3, got 3"):
        FilesDataModule(data_dir=str(tmp_path / "absent"), folds=3, fold=3)


def test_more_folds_than_examples_of_a_class_is_a_data_error(folder):
    with pytest.raises(DataError, match=r"data\.folds=12 is more than the 11 examples of class 'c'") as info:
        fold_module(folder, 0, folds=12)
    assert "\n" not in str(info.value)


def test_fold_settings_compose_and_fail_at_instantiation(train_config, folder):
    import hydra

    from src.utils.instantiate import root_cause

    cfg = train_config("data=mr", f"data.data_dir={folder}", "data.cache_dir=null", "data.folds=4", "data.fold=3")
    dm = hydra.utils.instantiate(cfg.data)
    assert (dm.folds, dm.fold) == (4, 3)
    cfg = train_config("data=files", f"data.data_dir={folder}", "data.fold=1")
    with pytest.raises(Exception) as info:
        hydra.utils.instantiate(cfg.data)
    assert isinstance(root_cause(info.value), ConfigError) and "data.fold=1" in str(root_cause(info.value))
