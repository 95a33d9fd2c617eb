"""Label typing and the decisions about classes, for :class:`src.data.datamodule.TextDataModule`.

* Labels of integer or string columns map to ids in a stable order (integers numerically, then
  names alphabetically: ``["neg", "pos"]`` -> 0, 1; ``[1, 2]`` -> 0, 1); a ``ClassLabel`` column
  keeps its own order; given ``label_names`` (config or checkpoint) fix the classes explicitly,
  and then integer labels read as positions in them unless the names are integers themselves.
* A validation/test label never seen in train, and (with fixed classes) a class with no training
  example, are errors by default (``unseen_labels=error``): most often they are a typo or a file
  from another set. With ``unseen_labels=keep`` (``data=trec50``, whose rare fine classes may miss
  train) such a class joins the label set without training examples, with a warning: the model has
  an output for it that no example trains toward, and its validation/test rows stay and are scored
  as usual, so they are (almost always) errors: dropping them would flatter the score.

Every error is a one-line :class:`DataError` naming the split (and its file), column, row or value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import datasets
import numpy as np
import pyarrow as pa

from .sources import DataError, natural_sorted
from .texts import text_batches

log = logging.getLogger(__name__)


@dataclass
class Rows:
    """One split on its way to being encoded; ``rows`` are 1-based rows of the original split.

    The texts stay in Arrow: ``texts`` is a whole text column and ``index`` the positions in it of
    these rows, so taking rows (carving, folds) copies no text; :meth:`text_batches` gives them as
    Python strings a batch at a time."""

    texts: pa.ChunkedArray
    index: np.ndarray
    keys: list[str]
    kind: str  # "int" (integer labels), "names" (ClassLabel or strings)
    rows: np.ndarray
    subsets: list[str] | None
    where: str
    class_names: list[str] | None = None  # a ClassLabel column's own names, in its order

    def __len__(self) -> int:
        return len(self.index)

    def text_batches(self) -> Iterator[list[str]]:
        return text_batches(self.texts, self.index)

    def take(self, index: np.ndarray, where: str) -> Rows:
        return Rows(
            self.texts,
            self.index[index],
            [self.keys[i] for i in index],
            self.kind,
            self.rows[index],
            None if self.subsets is None else [self.subsets[i] for i in index],
            where,
            self.class_names,
        )

    @staticmethod
    def concat(parts: list[Rows], where: str) -> Rows:
        """The rows of ``parts`` one after the other (e.g. every split, to re-split into folds)."""
        kinds = {p.kind for p in parts}
        if len(kinds) > 1:
            raise DataError(
                f"{where}: the splits' labels are of different kinds (integers in some, names in "
                f"others: {', '.join(p.where for p in parts)}); they cannot be pooled"
            )
        starts = np.cumsum([0] + [len(p.texts) for p in parts])
        text_type = parts[0].texts.type if len({p.texts.type for p in parts}) == 1 else pa.large_string()
        return Rows(
            pa.chunked_array([c.cast(text_type) for p in parts for c in p.texts.chunks], text_type),
            np.concatenate([p.index + start for p, start in zip(parts, starts)]),
            [k for p in parts for k in p.keys],
            parts[0].kind,
            np.concatenate([p.rows for p in parts]),
            None if any(p.subsets is None for p in parts) else [s for p in parts for s in p.subsets],
            where,
            parts[0].class_names,
        )


def column_values(ds: datasets.Dataset, name: str) -> list:
    """A column as a plain list (indexing the lazy ``Column`` of datasets>=4 row by row is slow)."""
    return ds.select_columns([name]).to_dict()[name]


def label_keys(where: str, ds: datasets.Dataset, column: str, keep: list[int]) -> tuple[list[str], str]:
    """Labels of the kept rows as strings (ClassLabel ids become their names), and their kind."""
    feature = ds.features[column]
    values = column_values(ds, column)
    for row in keep:
        if values[row] is None or (isinstance(values[row], float) and values[row] != values[row]):
            raise DataError(f"{where}: column {column!r} row {row + 1} has no label")
    if isinstance(feature, datasets.ClassLabel):
        bad = next((r for r in keep if not 0 <= values[r] < len(feature.names)), None)
        if bad is not None:
            raise DataError(
                f"{where}: column {column!r} row {bad + 1} has label {values[bad]} outside its "
                f"{len(feature.names)} classes (the Hub marks unlabelled rows with -1)"
            )
        return [feature.names[values[r]] for r in keep], "names"
    dtype = getattr(feature, "dtype", None)
    if dtype is not None and (dtype.startswith(("int", "uint")) or dtype.startswith("float")):
        keys = []
        for r in keep:
            if float(values[r]) != int(values[r]):
                raise DataError(
                    f"{where}: column {column!r} row {r + 1} has label {values[r]!r}, neither an integer nor a name"
                )
            keys.append(str(int(values[r])))
        return keys, "int"
    if dtype in ("string", "large_string", "bool"):
        return [str(values[r]) for r in keep], "names"
    raise DataError(f"{where}: column {column!r} holds {feature}, expected integer or string labels")


UNSEEN_LABELS = ("error", "keep")


def decide_label_names(
    parts: dict[str, Rows],
    given: list[str] | None,
    training: bool,
    name: str,
    label_column: str,
    unseen_labels: str = "error",
) -> list[str]:
    """The classes, in id order: ``given``, else the train split's ClassLabel names or sorted labels
    (with ``unseen_labels="keep"``: the labels of every split). When ``training``, there must be two
    or more classes with training examples, and every class must have one unless ``unseen_labels="keep"``."""
    keep = unseen_labels == "keep"
    if given:
        names = [str(n) for n in given]
        if len(set(names)) != len(names):
            raise DataError(f"{name}: label_names has duplicates: {names}")
    elif "train" in parts:
        keys = [k for rows in parts.values() for k in rows.keys] if keep else parts["train"].keys
        names = parts["train"].class_names or natural_sorted(keys)
    else:
        raise DataError(
            f"{name}: without a train split the label names must be given (setup(label_names=...) or data.label_names)"
        )
    if training:
        train = parts["train"]
        counts = {n: 0 for n in names}
        for key in names_of(train, names):
            if key in counts:
                counts[key] += 1
        empty = [n for n, c in counts.items() if c == 0]
        if empty and not keep:
            raise DataError(f"{train.where}: class {empty[0]!r} has no training examples (classes: {', '.join(names)})")
        if empty:
            log.warning(
                "%s: %d of %d classes have no training examples (%s); their validation/test rows are scored as usual",
                train.where,
                len(empty),
                len(names),
                ", ".join(empty),
            )
        trained = [n for n in names if counts[n]]  # none: label_ids names the row that fits no class
        if len(names) < 2 or len(trained) == 1:
            raise DataError(
                f"{train.where}: only one class ({(trained or names)[0]!r}) in column {label_column!r}; need at least 2"
            )
    return names


def index_labels(rows: Rows, names: list[str]) -> bool:
    """Integer labels read as positions in ``names`` when those names are not integers themselves."""
    return rows.kind == "int" and not all(re.fullmatch(r"-?\d+", n) for n in names)


def names_of(rows: Rows, names: list[str]) -> list[str]:
    """Each row's class name (its key, or the name at its position for integer labels read as positions)."""
    if index_labels(rows, names):
        return [names[int(k)] if 0 <= int(k) < len(names) else k for k in rows.keys]
    return rows.keys


def label_ids(rows: Rows, names: list[str], training: bool, fixed_classes: bool) -> np.ndarray:
    """Class ids of ``rows``; a label outside ``names`` is an error naming its row.
    ``fixed_classes``: the names came from the config, so the message does not blame train."""
    lookup = {n: i for i, n in enumerate(names)}
    if index_labels(rows, names):
        lookup = {str(i): i for i in range(len(names))}
    ids = np.fromiter((lookup.get(k, -1) for k in rows.keys), dtype=np.int64, count=len(rows.keys))
    unknown = np.flatnonzero(ids < 0)
    if len(unknown):
        first = unknown[0]
        more = f" (and {len(unknown) - 1} more rows)" if len(unknown) > 1 else ""
        unseen = training and not fixed_classes
        known = "never appears in train (train labels: " if unseen else "is not one of the classes ("
        hint = "; data.unseen_labels=keep keeps such a class (its rows scored, not dropped)" if unseen else ""
        raise DataError(
            f"{rows.where}: label {rows.keys[first]!r} in row {rows.rows[first]} {known}{', '.join(names)}){more}{hint}"
        )
    return ids
