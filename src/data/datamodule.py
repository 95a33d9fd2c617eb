"""One LightningDataModule for every text classification source (built-in, HF Hub, local files).

A *source* is any callable returning a ``datasets.DatasetDict`` with a text and a label column
(and optionally a ``subset`` column naming slices to report separately); ``src.data.sources`` has
the Hub and local-file loaders. ``setup()`` validates the data, carves the splits it lacks, maps
labels to ids, trains the word tokenizer on the train split only, encodes every split once (or
reads all of that from the cache), and the loaders serve length-bucketed batches.

Decisions a user should know:

* **Empty or null texts are dropped**, with one warning per split that counts them and names the
  first rows; a split left with no text at all is an error. (Real corpora carry the odd blank
  line; failing the whole run on it helps nobody, silently keeping it trains on nothing.)
* **Labels**: integer or string columns map to ids in a stable order (integers numerically, then
  names alphabetically: ``["neg", "pos"]`` -> 0, 1; ``[1, 2]`` -> 0, 1), a ``ClassLabel`` column
  keeps its own order, and ``label_names`` (config or checkpoint) fixes the classes explicitly.
  The names are kept in ``label_names`` for reports and predictions. A validation/test label never
  seen in train, and (with fixed classes) a class with no training example, are errors: a model
  can neither learn nor be fairly scored on such a class.
* **Missing splits**: validation is carved from train (stratified, ``validation_fraction``,
  ``split_seed``); a missing test split likewise (``test_fraction``) with a warning, since such a
  score is not comparable to an official test set. ``split_seed`` is separate from the training
  seed, so repeated seeds share one split and differ only in the model.
* **max_length = 256 tokens** (truncation keeps the beginning): every sentence-level benchmark
  (MR, SST-2, TREC, Rotten Tomatoes, AG News) fits entirely, so it only changes document sets
  like IMDB and Yelp, where it bounds the time and memory of the recurrent summarizers (linear
  in the length, and a padded batch is as long as its longest text) while keeping most of each
  review. The number of truncated texts is logged.
* **Cache**: with ``cache_dir`` set, the encoded splits, label names and tokenizer are stored in
  one file keyed by a hash of the data content and of every setting that changes them, so a
  second run with the same data skips tokenizer training and encoding. Writes go to a temporary
  file renamed into place, so a killed run never leaves a half-written cache.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import datasets
import numpy as np
import tokenizers
from lightning import LightningDataModule
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, Dataset

from src.utils.io import atomic_write

from .batching import BucketBatchSampler, collate, padding_efficiency
from .sources import SPLITS, DataError, carve_splits, load_files, natural_sorted, origin
from .tokenizer import PAD_ID, UNK_ID, encode_flat, train_word_tokenizer

__all__ = ["DataError", "EncodedSplit", "FilesDataModule", "TextDataModule"]

log = logging.getLogger(__name__)
CACHE_VERSION = 1


class EncodedSplit(Dataset):
    """Token ids of one split in one flat int32 array; text i is ``flat[offsets[i]:offsets[i + 1]]``."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray, labels: np.ndarray,
                 subsets: np.ndarray | None = None):
        self.flat, self.offsets = np.asarray(flat, dtype=np.int32), np.asarray(offsets, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.subsets = None if subsets is None else np.asarray(subsets, dtype=np.int64)
        self.lengths = np.diff(self.offsets)

    @property
    def ids(self) -> list[np.ndarray]:
        return [self.flat[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.flat[self.offsets[i]:self.offsets[i + 1]], "label": int(self.labels[i]), "index": i}
        if self.subsets is not None:
            item["subset"] = int(self.subsets[i])
        return item


@dataclass
class _Rows:
    """One split on its way to being encoded; ``rows`` are 1-based rows of the original split."""
    texts: list[str]
    keys: list[str]
    kind: str  # "int" (integer labels), "names" (ClassLabel or strings)
    rows: np.ndarray
    subsets: list[str] | None
    where: str
    class_names: list[str] | None = None  # a ClassLabel column's own names, in its order

    def take(self, index: np.ndarray, where: str) -> "_Rows":
        return _Rows([self.texts[i] for i in index], [self.keys[i] for i in index], self.kind, self.rows[index],
                     None if self.subsets is None else [self.subsets[i] for i in index], where, self.class_names)


class TextDataModule(LightningDataModule):
    def __init__(self, source: Callable[[], datasets.DatasetDict], name: str = "data",
                 text_column: str = "text", label_column: str = "label", subset_column: str | None = "subset",
                 label_names: Sequence[str] | None = None, validation_fraction: float = 0.1,
                 test_fraction: float = 0.1, split_seed: int = 0,
                 min_frequency: int = 1, max_vocab: int = 50_000, lowercase: bool = True,
                 max_length: int | None = 256, batch_size: int = 64, eval_batch_size: int | None = None,
                 num_workers: int = 0, bucketing: bool = True, seed: int = 0, cache_dir: str | None = None):
        super().__init__()
        self.source, self.name = source, name
        self.text_column, self.label_column, self.subset_column = text_column, label_column, subset_column
        self.given_label_names = list(label_names) if label_names else None
        self.validation_fraction, self.test_fraction, self.split_seed = validation_fraction, test_fraction, split_seed
        self.min_frequency, self.max_vocab, self.lowercase = min_frequency, max_vocab, lowercase
        if max_length is not None and max_length < 1:
            raise DataError(f"data.max_length must be >= 1 or null, got {max_length}")
        if num_workers < 0:
            raise DataError(f"data.num_workers must be >= 0, got {num_workers}")
        self.max_length = max_length
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.num_workers, self.bucketing, self.seed = num_workers, bucketing, seed
        self.cache_dir = Path(os.path.expanduser(str(cache_dir))) if cache_dir else None
        self.tokenizer: Tokenizer | None = None
        self.label_names: list[str] = []
        self.subset_names: list[str] = []
        self.splits: dict[str, EncodedSplit] = {}
        self.cache_path: Path | None = None
        self.cache_hit = False

    # ------------------------------------------------------------------ setup
    def setup(self, stage: str | None = None, tokenizer: Tokenizer | None = None,
              label_names: Sequence[str] | None = None) -> None:
        """Idempotent. ``tokenizer`` and ``label_names`` (both from a checkpoint) replace training a
        tokenizer and deriving the classes; then no train split is needed (e.g. a test file alone)."""
        if self.splits:
            return
        given_names = list(label_names) if label_names else self.given_label_names
        raw = self.source()
        self._check_structure(raw, need_train=tokenizer is None)
        if self.cache_dir is not None:
            self.cache_path = self.cache_dir / f"{_safe(self.name)}-{self._cache_key(raw, tokenizer, given_names)}.npz"
            if self._load_cache(self.cache_path):
                return
        start = time.perf_counter()
        self._prepare(raw, tokenizer, given_names)
        log.info("%s: prepared in %.2f s: %s; vocabulary %d; labels %s", self.name, time.perf_counter() - start,
                 ", ".join(f"{s} {len(d)}" for s, d in self.splits.items()), self.vocab_size, self.label_names)
        if self.cache_path is not None:
            self._save_cache(self.cache_path)

    def _where(self, raw: datasets.DatasetDict, split: str) -> str:
        source = origin(raw, split)
        return f"{self.name}/{split}" + (f" ({source})" if source else "")

    def _check_structure(self, raw: datasets.DatasetDict, need_train: bool) -> None:
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
                    raise DataError(f"{self._where(raw, split)}: no column {column!r} (columns: "
                                    f"{', '.join(ds.column_names) or 'none'}); set data.{key}")
            if len(ds) == 0:
                raise DataError(f"{self._where(raw, split)}: the split is empty")

    def _prepare(self, raw: datasets.DatasetDict, tokenizer: Tokenizer | None, given_names: list[str] | None) -> None:
        use_subsets = bool(self.subset_column) and all(self.subset_column in ds.column_names for ds in raw.values())
        parts = {split: self._rows(raw, split, ds, use_subsets) for split, ds in raw.items()}
        if "train" in parts:
            parts.update(self._carve(parts))
        training = tokenizer is None
        label_names = self._decide_label_names(parts, given_names, training)
        ids = {split: self._label_ids(rows, label_names, training) for split, rows in parts.items()}
        subset_names = natural_sorted(s for p in parts.values() for s in p.subsets) if use_subsets else []
        tokenizer = tokenizer or train_word_tokenizer(parts["train"].texts, self.min_frequency,
                                                      self.max_vocab, self.lowercase)
        subset_ids = {s: i for i, s in enumerate(subset_names)}
        splits = {}
        for split in [s for s in SPLITS if s in parts]:
            rows = parts[split]
            flat, offsets, truncated = encode_flat(tokenizer, rows.texts, self.max_length)
            if truncated:
                log.info("%s: truncated %d of %d texts (%.1f%%) to max_length=%d tokens", rows.where, truncated,
                         len(rows.texts), 100 * truncated / len(rows.texts), self.max_length)
            subsets = np.asarray([subset_ids[s] for s in rows.subsets]) if use_subsets else None
            splits[split] = EncodedSplit(flat, offsets, ids[split], subsets)
        # all or nothing: a failure above leaves the module as it was
        self.label_names, self.subset_names, self.tokenizer, self.splits = label_names, subset_names, tokenizer, splits

    def _rows(self, raw: datasets.DatasetDict, split: str, ds: datasets.Dataset, use_subsets: bool) -> _Rows:
        where = self._where(raw, split)
        texts = _column(ds, self.text_column)
        keep = []
        for row, text in enumerate(texts):
            if text is not None and not isinstance(text, str):
                raise DataError(f"{where}: column {self.text_column!r} row {row + 1} is not text: {text!r}")
            if text is not None and text.strip():
                keep.append(row)
        dropped = len(texts) - len(keep)
        if dropped:
            first = sorted(set(range(len(texts))) - set(keep))[:5]
            log.warning("%s: dropped %d of %d rows with empty or null text in column %r (rows %s%s)", where,
                        dropped, len(texts), self.text_column, ", ".join(str(r + 1) for r in first),
                        ", ..." if dropped > len(first) else "")
        if not keep:
            raise DataError(f"{where}: no row has text in column {self.text_column!r} (all {len(texts)} empty or null)")
        keys, kind = self._label_keys(where, ds, keep)
        feature = ds.features[self.label_column]
        subsets = _column(ds, self.subset_column) if use_subsets else None
        return _Rows([texts[r] for r in keep], keys, kind, np.asarray(keep, dtype=np.int64) + 1,
                     [str(subsets[r]) for r in keep] if use_subsets else None, where,
                     list(feature.names) if isinstance(feature, datasets.ClassLabel) else None)

    def _label_keys(self, where: str, ds: datasets.Dataset, keep: list[int]) -> tuple[list[str], str]:
        """Labels of the kept rows as strings (ClassLabel ids become their names), and their kind."""
        column, feature = self.label_column, ds.features[self.label_column]
        values = _column(ds, column)
        for row in keep:
            if values[row] is None or (isinstance(values[row], float) and values[row] != values[row]):
                raise DataError(f"{where}: column {column!r} row {row + 1} has no label")
        if isinstance(feature, datasets.ClassLabel):
            bad = next((r for r in keep if not 0 <= values[r] < len(feature.names)), None)
            if bad is not None:
                raise DataError(f"{where}: column {column!r} row {bad + 1} has label {values[bad]} outside its "
                                f"{len(feature.names)} classes (the Hub marks unlabelled rows with -1)")
            return [feature.names[values[r]] for r in keep], "names"
        dtype = getattr(feature, "dtype", None)
        if dtype is not None and (dtype.startswith(("int", "uint")) or dtype.startswith("float")):
            keys = []
            for r in keep:
                if float(values[r]) != int(values[r]):
                    raise DataError(f"{where}: column {column!r} row {r + 1} has label {values[r]!r}, "
                                    f"neither an integer nor a name")
                keys.append(str(int(values[r])))
            return keys, "int"
        if dtype in ("string", "large_string", "bool"):
            return [str(values[r]) for r in keep], "names"
        raise DataError(f"{where}: column {column!r} holds {feature}, expected integer or string labels")

    def _carve(self, parts: dict[str, _Rows]) -> dict[str, _Rows]:
        fractions = {split: fraction for split, fraction in (("validation", self.validation_fraction),
                                                             ("test", self.test_fraction)) if split not in parts}
        if not fractions:
            return {}
        train = parts["train"]
        try:
            index = carve_splits(train.keys, fractions, self.split_seed)
        except DataError as exc:
            raise DataError(f"{train.where}: {exc}") from None
        out = {"train": train.take(index["train"], train.where)}
        for split in fractions:
            out[split] = train.take(index[split], f"{self.name}/{split} (carved from {train.where})")
            message = ("%s: no %s split; carved %d rows (%.0f%%) from train (stratified, split_seed=%d)"
                       + ("; its score is not comparable to an official test set" if split == "test" else ""))
            (log.warning if split == "test" else log.info)(message, self.name, split, len(index[split]),
                                                            100 * fractions[split], self.split_seed)
        return out

    def _decide_label_names(self, parts: dict[str, _Rows], given: list[str] | None, training: bool) -> list[str]:
        if given:
            names = [str(n) for n in given]
            if len(set(names)) != len(names):
                raise DataError(f"{self.name}: label_names has duplicates: {names}")
        elif "train" in parts:
            names = parts["train"].class_names or natural_sorted(parts["train"].keys)
        else:
            raise DataError(f"{self.name}: without a train split the label names must be given "
                            f"(setup(label_names=...) or data.label_names)")
        if training:
            train = parts["train"]
            counts = {n: 0 for n in names}
            for key in self._names_of(train, names):
                if key in counts:
                    counts[key] += 1
            empty = [n for n, c in counts.items() if c == 0]
            if empty:
                raise DataError(f"{train.where}: class {empty[0]!r} has no training examples "
                                f"(classes: {', '.join(names)})")
            if len(names) < 2:
                raise DataError(f"{train.where}: only one class ({names[0]!r}) in column "
                                f"{self.label_column!r}; need at least 2")
        return names

    @staticmethod
    def _index_labels(rows: _Rows, names: list[str]) -> bool:
        """Integer labels read as positions in ``names`` when those names are not integers themselves."""
        return rows.kind == "int" and not all(re.fullmatch(r"-?\d+", n) for n in names)

    def _names_of(self, rows: _Rows, names: list[str]) -> list[str]:
        if self._index_labels(rows, names):
            return [names[int(k)] if 0 <= int(k) < len(names) else k for k in rows.keys]
        return rows.keys

    def _label_ids(self, rows: _Rows, names: list[str], training: bool) -> np.ndarray:
        lookup = {n: i for i, n in enumerate(names)}
        if self._index_labels(rows, names):
            lookup = {str(i): i for i in range(len(names))}
        ids = np.fromiter((lookup.get(k, -1) for k in rows.keys), dtype=np.int64, count=len(rows.keys))
        unknown = np.flatnonzero(ids < 0)
        if len(unknown):
            first = unknown[0]
            more = f" (and {len(unknown) - 1} more rows)" if len(unknown) > 1 else ""
            known = ("never appears in train (train labels: " if training and not self.given_label_names
                     else "is not one of the classes (")
            raise DataError(f"{rows.where}: label {rows.keys[first]!r} in row {rows.rows[first]} {known}"
                            f"{', '.join(names)}){more}")
        return ids

    # ------------------------------------------------------------------ cache
    def _cache_key(self, raw: datasets.DatasetDict, tokenizer: Tokenizer | None, label_names: list[str] | None) -> str:
        """Hash of the data content and of every setting that changes the encoded result."""
        settings = {
            "version": CACHE_VERSION, "tokenizers": tokenizers.__version__,
            "columns": [self.text_column, self.label_column, self.subset_column],
            "validation_fraction": self.validation_fraction, "test_fraction": self.test_fraction,
            "split_seed": self.split_seed, "min_frequency": self.min_frequency, "max_vocab": self.max_vocab,
            "lowercase": self.lowercase, "max_length": self.max_length, "label_names": label_names,
            "tokenizer": hashlib.sha256(tokenizer.to_str().encode()).hexdigest() if tokenizer else None,
            "training": tokenizer is None,
        }
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
        for split in sorted(raw):
            ds = raw[split]
            columns = [c for c in (self.text_column, self.label_column, self.subset_column) if c in ds.column_names]
            digest.update(f"{split}:{len(ds)}:{[repr(ds.features[c]) for c in columns]}".encode())
            for batch in ds.select_columns(columns).iter(batch_size=50_000):
                for column in columns:
                    digest.update(repr(batch[column]).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()[:24]

    def _load_cache(self, path: Path) -> bool:
        if not path.is_file():
            return False
        start = time.perf_counter()
        try:
            with np.load(path, allow_pickle=False) as stored:
                meta = json.loads(stored["meta"].tobytes().decode())
                splits = {split: EncodedSplit(stored[f"{split}__flat"], stored[f"{split}__offsets"],
                                              stored[f"{split}__labels"],
                                              stored[f"{split}__subsets"] if meta["subsets"] else None)
                          for split in meta["splits"]}
            tokenizer = Tokenizer.from_str(meta["tokenizer"])
        except Exception as exc:  # noqa: BLE001  (a bad cache file is rebuilt, never trusted)
            log.warning("%s: ignoring unreadable cache file %s (%s); rebuilding it", self.name, path, exc)
            return False
        self.splits, self.tokenizer = splits, tokenizer
        self.label_names, self.subset_names = meta["label_names"], meta["subset_names"]
        self.cache_hit = True
        log.info("%s: loaded tokenized data from cache %s in %.2f s (no tokenizer training or encoding): %s; "
                 "vocabulary %d; labels %s", self.name, path, time.perf_counter() - start,
                 ", ".join(f"{s} {len(d)}" for s, d in self.splits.items()), self.vocab_size, self.label_names)
        return True

    def _save_cache(self, path: Path) -> None:
        meta = {"version": CACHE_VERSION, "splits": list(self.splits), "label_names": self.label_names,
                "subset_names": self.subset_names, "tokenizer": self.tokenizer.to_str(),
                "subsets": any(d.subsets is not None for d in self.splits.values())}
        arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        for split, data in self.splits.items():
            arrays.update({f"{split}__flat": data.flat, f"{split}__offsets": data.offsets,
                           f"{split}__labels": data.labels})
            if data.subsets is not None:
                arrays[f"{split}__subsets"] = data.subsets
        try:
            with atomic_write(path, "wb") as f:  # readers see the old file or the whole new one
                np.savez(f, **arrays)
            log.info("%s: cached tokenized data in %s", self.name, path)
        except OSError as exc:
            log.warning("%s: could not write the cache file %s (%s); continuing without it", self.name, path, exc)

    # ------------------------------------------------------------------ facts the model is sized from
    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    # ------------------------------------------------------------------ loaders
    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if split not in self.splits:
            raise DataError(f"{self.name}: no {split!r} split (have: {', '.join(self.splits) or 'none'})")
        data = self.splits[split]
        trainer = getattr(self, "trainer", None)
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = BucketBatchSampler(data.lengths, self.batch_size if shuffle else self.eval_batch_size,
                                     shuffle=shuffle, seed=self.seed, bucketing=self.bucketing,
                                     num_replicas=replicas if shuffle else 1, rank=rank if shuffle else 0)
        return DataLoader(data, batch_sampler=sampler, collate_fn=collate, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def train_dataloader(self):
        loader = self._loader("train", shuffle=True)
        efficiency = padding_efficiency(self.splits["train"].lengths, list(loader.batch_sampler))
        log.info("%s: padding efficiency %.3f on train batches (real tokens / padded slots; bucketing %s)",
                 self.name, efficiency, "on" if self.bucketing else "off")
        trainer = getattr(self, "trainer", None)
        if trainer is not None and trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({"data/padding_efficiency": efficiency}, step=0)
        return loader

    def val_dataloader(self):
        return self._loader("validation", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)

    def padding_efficiency(self, split: str = "train") -> float:
        loader = self._loader(split, shuffle=split == "train")
        return padding_efficiency(self.splits[split].lengths, list(loader.batch_sampler))


class FilesDataModule(TextDataModule):
    """``TextDataModule`` over local files: ``data=files data.train_file=... [data.validation_file=...]
    [data.test_file=...]`` or ``data.data_dir=FOLDER`` holding ``train.csv`` etc. (see
    ``src.data.sources.load_files`` for the formats)."""

    def __init__(self, train_file: str | None = None, validation_file: str | None = None,
                 test_file: str | None = None, data_dir: str | None = None, name: str | None = None, **kwargs):
        source = partial(load_files, train_file=train_file, validation_file=validation_file, test_file=test_file,
                         data_dir=data_dir, text_column=kwargs.get("text_column", "text"),
                         label_column=kwargs.get("label_column", "label"))
        if not name:
            anchor = Path(data_dir or train_file or test_file or validation_file or "data").expanduser()
            is_split_file = anchor.stem in ("train", "validation", "dev", "valid", "test")
            name = anchor.name if data_dir else (anchor.parent.name if is_split_file else anchor.stem)
        super().__init__(source=source, name=name or "files", **kwargs)


def _column(ds: datasets.Dataset, name: str) -> list:
    """A column as a plain list (indexing the lazy ``Column`` of datasets>=4 row by row is slow)."""
    return ds.select_columns([name]).to_dict()[name]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "data"
