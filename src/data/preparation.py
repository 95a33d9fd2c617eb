"""From a source's raw splits to encoded ones, for :class:`src.data.datamodule.TextDataModule`:
check the structure, keep the rows with text, fix the splits (``src.data.splitting``), map labels
to ids (``src.data.labels``), train the word tokenizer on train only and encode every split.

* **Empty or null texts are dropped**, with one warning per split that counts them and names the
  first rows; a split left with no text at all is an error. (Real corpora carry the odd blank
  line; failing the whole run on it helps nobody, silently keeping it trains on nothing.)
* **max_length** bounds the tokens of each text, keeping its head, tail or both (``truncation``,
  ``src.data.truncation``); the number of truncated texts is logged.
* **strip_html_breaks** reads HTML line breaks (``<br />``) as a space (``src.data.tokenizer``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import datasets
import numpy as np
from tokenizers import Tokenizer

from . import cache
from .encoded import EncodedSplit
from .labels import Rows, column_values, decide_label_names, label_ids, label_keys
from .sources import SPLITS, DataError, natural_sorted, origin
from .splitting import carve_missing, take_fold
from .texts import arrow_column, kept_rows
from .tokenizer import encode_flat, train_word_tokenizer

log = logging.getLogger(__name__)
DISTANCE_COLUMN = "distance"  # optional per-example column, carried to each test prediction (src.data.synthetic)


@dataclass(frozen=True)
class Preparation:
    """Every setting that turns raw splits into encoded ones (and so keys the tokenized-data cache)."""

    name: str
    text_column: str
    label_column: str
    subset_column: str | None
    validation_fraction: float
    test_fraction: float
    split_seed: int
    folds: int | None
    fold: int | None
    min_frequency: int
    max_vocab: int
    lowercase: bool
    max_length: int | None
    fixed_classes: bool  # the classes came from the config (data.label_names)
    unseen_labels: str = "error"  # or "keep": a class missing from train joins the classes (src.data.labels)
    truncation: str = "head"  # or "tail", "head_tail" (src.data.truncation)
    strip_html_breaks: bool = False

    def where(self, raw: datasets.DatasetDict, split: str) -> str:
        source = origin(raw, split)
        return f"{self.name}/{split}" + (f" ({source})" if source else "")

    def check_structure(self, raw: datasets.DatasetDict, need_train: bool) -> None:
        if not isinstance(raw, datasets.DatasetDict):
            raise DataError(f"{self.name}: the source returned {type(raw).__name__}, not a datasets.DatasetDict")
        extra = [s for s in raw if s not in SPLITS]
        if extra:
            raise DataError(f"{self.name}: unknown split {extra[0]!r} (use {', '.join(SPLITS)})")
        if need_train and "train" not in raw:
            raise DataError(f"{self.name}: no 'train' split (found: {', '.join(raw) or 'none'})")
        if not raw:
            raise DataError(f"{self.name}: the source has no splits")
        for split, ds in raw.items():
            for column, key in ((self.text_column, "text_column"), (self.label_column, "label_column")):
                if column not in ds.column_names:
                    raise DataError(
                        f"{self.where(raw, split)}: no column {column!r} (columns: "
                        f"{', '.join(ds.column_names) or 'none'}); set data.{key}"
                    )
            if len(ds) == 0:
                raise DataError(f"{self.where(raw, split)}: the split is empty")

    def prepare(
        self, raw: datasets.DatasetDict, tokenizer: Tokenizer | None, given_names: list[str] | None
    ) -> cache.Prepared:
        """The encoded splits, classes and tokenizer of ``raw``; ``tokenizer`` (from a checkpoint)
        replaces training one, and then no train split is needed."""
        use_subsets = bool(self.subset_column) and all(self.subset_column in ds.column_names for ds in raw.values())
        parts = {split: self.rows(raw, split, ds, use_subsets) for split, ds in raw.items()}
        if self.folds is not None:
            parts = take_fold(parts, self.name, self.folds, self.fold, self.split_seed)
        if "train" in parts:
            parts.update(carve_missing(parts, self.name, self.validation_fraction, self.test_fraction, self.split_seed))
        training = tokenizer is None
        names = decide_label_names(parts, given_names, training, self.name, self.label_column, self.unseen_labels)
        ids = {split: label_ids(rows, names, training, self.fixed_classes) for split, rows in parts.items()}
        subset_names = natural_sorted(s for p in parts.values() for s in p.subsets) if use_subsets else []
        tokenizer = tokenizer or train_word_tokenizer(
            parts["train"].text_batches(), self.min_frequency, self.max_vocab, self.lowercase, self.strip_html_breaks
        )
        subset_ids = {s: i for i, s in enumerate(subset_names)}
        distances = self.distances(raw, parts)
        splits = {}
        for split in [s for s in SPLITS if s in parts]:
            rows = parts[split]
            flat, offsets, full_lengths = encode_flat(tokenizer, rows.text_batches(), self.max_length, self.truncation)
            if full_lengths is not None:
                truncated = int((full_lengths > self.max_length).sum())
                log.info(
                    "%s: truncated %d of %d texts (%.1f%%) to max_length=%d tokens (%s)",
                    rows.where,
                    truncated,
                    len(rows),
                    100 * truncated / len(rows),
                    self.max_length,
                    self.truncation,
                )
            subsets = np.asarray([subset_ids[s] for s in rows.subsets]) if use_subsets else None
            splits[split] = EncodedSplit(flat, offsets, ids[split], subsets, distances.get(split), full_lengths)
        # all or nothing: a failure above leaves the module as it was
        return cache.Prepared(splits, names, subset_names, tokenizer)

    def rows(self, raw: datasets.DatasetDict, split: str, ds: datasets.Dataset, use_subsets: bool) -> Rows:
        """The rows of ``split`` that have text (the others dropped with a warning), with their labels."""
        where = self.where(raw, split)
        texts = arrow_column(ds, self.text_column)
        keep = kept_rows(texts, where, self.text_column)
        dropped = len(texts) - len(keep)
        if dropped:
            dropped_rows = np.ones(len(texts), dtype=bool)
            dropped_rows[keep] = False
            first = np.flatnonzero(dropped_rows)[:5]
            log.warning(
                "%s: dropped %d of %d rows with empty or null text in column %r (rows %s%s)",
                where,
                dropped,
                len(texts),
                self.text_column,
                ", ".join(str(r + 1) for r in first),
                ", ..." if dropped > len(first) else "",
            )
        if not len(keep):
            raise DataError(f"{where}: no row has text in column {self.text_column!r} (all {len(texts)} empty or null)")
        keys, kind = label_keys(where, ds, self.label_column, keep)
        feature = ds.features[self.label_column]
        subsets = column_values(ds, self.subset_column) if use_subsets else None
        return Rows(
            texts,
            keep,
            keys,
            kind,
            keep + 1,
            [str(subsets[r]) for r in keep] if use_subsets else None,
            where,
            list(feature.names) if isinstance(feature, datasets.ClassLabel) else None,
        )

    def distances(self, raw: datasets.DatasetDict, parts: dict[str, Rows]) -> dict[str, np.ndarray]:
        """The ``distance`` column (tokens after the deciding word; the built-in data has it) of every
        final split, -1 where null; {} for data without it. A split's ``rows`` are rows of its own raw
        split, or of train when it was carved; pooled folds lose that link, so they carry no distances."""
        if not all(DISTANCE_COLUMN in ds.column_names for ds in raw.values()):
            return {}
        if self.folds is not None:
            log.info(
                "%s: cross-validation folds carry no %r column (no memory curve in the report)",
                self.name,
                DISTANCE_COLUMN,
            )
            return {}
        columns = {
            split: np.asarray([_distance(v) for v in column_values(ds, DISTANCE_COLUMN)], dtype=np.int64)
            for split, ds in raw.items()
        }
        return {split: columns[split if split in raw else "train"][rows.rows - 1] for split, rows in parts.items()}

    def cache_settings(self, tokenizer: Tokenizer | None, label_names: list[str] | None) -> dict:
        """Every setting that changes the encoded result (the training seed and batch sizes do not)."""
        return {
            "columns": [self.text_column, self.label_column, self.subset_column],
            "validation_fraction": self.validation_fraction,
            "test_fraction": self.test_fraction,
            "split_seed": self.split_seed,
            "min_frequency": self.min_frequency,
            "max_vocab": self.max_vocab,
            "lowercase": self.lowercase,
            "max_length": self.max_length,
            "label_names": label_names,
            "tokenizer": cache.tokenizer_digest(tokenizer),
            "training": tokenizer is None,
            # only when set, so that the keys of earlier runs stay what they were
            **({"folds": self.folds, "fold": self.fold} if self.folds is not None else {}),
            **({"unseen_labels": self.unseen_labels} if self.unseen_labels != "error" else {}),
            **({"truncation": self.truncation} if self.truncation != "head" else {}),
            **({"strip_html_breaks": True} if self.strip_html_breaks else {}),
        }


def _distance(value) -> int:
    """A distance cell as an integer, -1 for null, NaN or anything that is not a whole number >= 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return -1
    return int(number) if number >= 0 and number.is_integer() else -1
