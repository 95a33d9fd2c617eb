"""Splits a set lacks, and cross-validation folds, for :class:`src.data.datamodule.TextDataModule`.

* **Missing splits**: validation is carved from train (stratified, ``validation_fraction``,
  ``split_seed``); a missing test split likewise (``test_fraction``) with a warning, since such a
  score is not comparable to an official test set. ``split_seed`` is separate from the training
  seed, so repeated seeds share one split and differ only in the model.
* **Cross-validation**: ``folds=K`` with ``fold=i`` pools every given split, deals the rows into K
  stratified folds drawn with ``split_seed`` (:func:`stratified_folds`), takes fold i as the test
  split and carves validation (stratified, ``validation_fraction``) from the other K-1 folds. A
  set's fixed test split is thereby re-split too. ``folds=null`` (the default) keeps the fixed
  splits, K times cheaper. Bad values are a one-line ConfigError before any data is read
  (:func:`check_folds`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from src.summarizers.base import ConfigError

from .labels import Rows
from .sources import SPLITS, DataError

log = logging.getLogger(__name__)


def carve_splits(labels: Sequence, fractions: Mapping[str, float], seed: int) -> dict[str, np.ndarray]:
    """Stratified, seeded partition of ``range(len(labels))`` into ``train`` and each split in
    ``fractions`` (a fraction of all rows, rounded per class). Every class keeps at least one
    training row; the result depends only on the labels, the fractions and ``seed``."""
    for split, fraction in fractions.items():
        if not 0.0 < float(fraction) < 1.0:
            raise DataError(f"data.{split}_fraction must be in (0, 1), got {fraction}")
    if sum(fractions.values()) >= 1.0:
        raise DataError(f"data split fractions {dict(fractions)} leave nothing for train")
    labels = np.asarray([str(v) for v in labels])
    rng = np.random.default_rng([int(seed), 20240611])
    taken: dict[str, list[np.ndarray]] = {split: [] for split in fractions}
    train: list[np.ndarray] = []
    for cls in sorted(set(labels.tolist())):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        start = 0
        for split, fraction in fractions.items():
            count = min(int(round(float(fraction) * len(rows))), len(rows) - 1 - start)
            taken[split].append(rows[start : start + max(count, 0)])
            start += max(count, 0)
        train.append(rows[start:])
    out = {"train": np.sort(np.concatenate(train))}
    for split, parts in taken.items():
        out[split] = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        if len(out[split]) == 0:
            raise DataError(
                f"train has too few rows ({len(labels)}) to carve a {split} split of fraction {fractions[split]}"
            )
    return out


def stratified_folds(labels: Sequence, folds: int, seed: int) -> np.ndarray:
    """The fold (0..folds-1) of each row: per class, the rows in a seeded random order are dealt to
    the folds in turn, each class starting where the previous one stopped, so every fold holds each
    class's count divided by ``folds`` rounded down or up (within one example per class) and the
    fold sizes differ by at most one. Depends only on the labels, ``folds`` and ``seed``. A class
    with fewer than ``folds`` examples is a DataError (some fold would have none of it)."""
    labels = np.asarray([str(v) for v in labels])
    classes, counts = np.unique(labels, return_counts=True)
    small = [(c, n) for c, n in zip(classes.tolist(), counts.tolist()) if n < folds]
    if small:
        cls, count = min(small, key=lambda item: item[1])
        raise DataError(
            f"data.folds={folds} is more than the {count} examples of class {cls!r}; "
            f"use at most {int(counts.min())} folds"
        )
    rng = np.random.default_rng([int(seed), 20240612])
    fold_of = np.empty(len(labels), dtype=np.int64)
    start = 0
    for cls in sorted(classes.tolist()):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        fold_of[rows] = (start + np.arange(len(rows))) % folds
        start = (start + len(rows)) % folds
    return fold_of


def check_folds(folds, fold) -> tuple[int | None, int | None]:
    """``(folds, fold)`` as integers, or a one-line ConfigError naming the key and its value."""

    def integer(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if folds is None:
        if fold is not None:
            raise ConfigError(
                f"data.fold={fold!r} needs data.folds (K of K-fold cross-validation); "
                f"without folds the fixed splits are used"
            )
        return None, None
    if not integer(folds) or folds < 2:
        raise ConfigError(f"data.folds must be an integer >= 2 (or null for the fixed splits), got {folds!r}")
    if fold is None:
        raise ConfigError(f"data.folds={folds} needs data.fold, the fold used as the test split (0..{folds - 1})")
    if not integer(fold) or not 0 <= fold < folds:
        raise ConfigError(f"data.fold must be an integer in 0..{folds - 1} with data.folds={folds}, got {fold!r}")
    return int(folds), int(fold)


def carve_missing(
    parts: dict[str, Rows], name: str, validation_fraction: float, test_fraction: float, split_seed: int
) -> dict[str, Rows]:
    """Train and the splits ``parts`` lacks, carved from its train split ({} when none is missing)."""
    fractions = {
        split: fraction
        for split, fraction in (("validation", validation_fraction), ("test", test_fraction))
        if split not in parts
    }
    if not fractions:
        return {}
    train = parts["train"]
    try:
        index = carve_splits(train.keys, fractions, split_seed)
    except DataError as exc:
        raise DataError(f"{train.where}: {exc}") from None
    out = {"train": train.take(index["train"], train.where)}
    for split in fractions:
        out[split] = train.take(index[split], f"{name}/{split} (carved from {train.where})")
        message = "%s: no %s split; carved %d rows (%.0f%%) from train (stratified, split_seed=%d)" + (
            "; its score is not comparable to an official test set" if split == "test" else ""
        )
        (log.warning if split == "test" else log.info)(
            message, name, split, len(index[split]), 100 * fractions[split], split_seed
        )
    return out


def take_fold(parts: dict[str, Rows], name: str, folds: int, fold: int, split_seed: int) -> dict[str, Rows]:
    """Pool every given split and keep fold ``fold`` of ``folds`` (stratified, ``split_seed``) as test."""
    order = [s for s in SPLITS if s in parts]
    pooled = Rows.concat([parts[s] for s in order], f"{name}/{'+'.join(order)}")
    try:
        fold_of = stratified_folds(pooled.keys, folds, split_seed)
    except DataError as exc:
        raise DataError(f"{name}: {exc}") from None
    test, train = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
    log.info(
        "%s: cross-validation fold %d of %d (stratified, split_seed=%d) as the test split: %d of the %d "
        "rows pooled from %s%s",
        name,
        fold,
        folds,
        split_seed,
        len(test),
        len(fold_of),
        ", ".join(order),
        "; the given splits are re-split" if len(order) > 1 else "",
    )
    return {
        "train": pooled.take(train, f"{name}/train (the {folds - 1} folds other than {fold})"),
        "test": pooled.take(test, f"{name}/test (fold {fold} of {folds})"),
    }
