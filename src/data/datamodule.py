"""One LightningDataModule for every text classification source (built-in, HF Hub, local files).

A *source* is any callable returning a ``datasets.DatasetDict`` with a text and a label column
(and optionally a ``subset`` column naming slices to report separately); ``src.data.sources`` has
the Hub and local-file loaders. ``setup()`` validates the data, carves the splits it lacks, maps
labels to ids (``src.data.labels``), trains the word tokenizer on the train split only, encodes
every split once (or reads all of that from the cache, ``src.data.cache``), and the loaders serve
length-bucketed batches.

Decisions a user should know (the preparation and the splits have their own modules:
``src.data.preparation``, ``src.data.splitting``):

* **Empty or null texts are dropped**, with a counted warning per split (``src.data.preparation``).
* **Labels**: integer or string columns map to ids in a stable order (integers numerically, then
  names alphabetically: ``["neg", "pos"]`` -> 0, 1; ``[1, 2]`` -> 0, 1), a ``ClassLabel`` column
  keeps its own order, and ``label_names`` (config or checkpoint) fixes the classes explicitly.
  The names are kept in ``label_names`` for reports and predictions. A validation/test label never
  seen in train, and (with fixed classes) a class with no training example, are errors unless
  ``unseen_labels=keep``, which keeps such a class without training examples (its rows are scored,
  not dropped; ``src.data.labels``).
* **Missing splits** are carved from train (stratified, ``split_seed``, separate from the training
  seed); a carved test split is warned about (``src.data.splitting``).
* **max_length = 256 tokens** (``truncation=head`` keeps the beginning; ``tail`` and ``head_tail``
  in ``src.data.truncation``): every sentence-level benchmark (MR, SST-2, TREC, Rotten Tomatoes,
  AG News) fits entirely, so it only changes document sets like IMDB and Yelp, where it bounds the
  time and memory of the recurrent summarizers (linear in the length, and a padded batch is as
  long as its longest text) while keeping most of each review. The number of truncated texts is
  logged. ``strip_html_breaks`` reads ``<br />`` as a space (on for ``data=imdb``).
* **Local folder instead of the source**: ``data_dir=FOLDER`` (``data.data_dir``) reads
  ``FOLDER/train.csv`` [``validation.csv``] [``test.csv``] (columns ``text,label``; any format of
  ``src.data.sources.LocalFiles``) in place of the configured source, keeping every other
  setting, so ``data=mr data.data_dir=../shared/data/mr`` is MR from disk instead of the Hub. A
  config whose folder holds something else names its reader in ``local_source`` (``data=sst2_phrases``:
  the SST trees, ``src.data.trees``); a config with no ``source`` (``sst5_phrases``) needs the folder.
* **Cross-validation**: ``folds=K`` with ``fold=i`` pools every given split into K stratified folds
  and tests on fold i (``src.data.splitting``); ``folds=null`` keeps the fixed splits.
* **Cache**: with ``cache_dir`` set, the encoded splits, label names and tokenizer are stored in
  one folder keyed by a hash of the data content and of every setting that changes them, so a
  second run with the same data skips tokenizer training and encoding. Local files are keyed on
  their bytes, read in chunks before any parsing, so a cache hit never parses them. The arrays
  are memory-mapped from the cache (after a cold run too), so they cost memory only as batches
  read them. Writes go to a temporary folder renamed into place, so a killed run never leaves a
  half-written cache.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import datasets
from lightning import LightningDataModule
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from src.model.metrics import check_metric
from src.summarizers.base import ConfigError

from . import cache
from .batching import BucketBatchSampler, collate, padding_efficiency
from .encoded import EncodedSplit
from .labels import UNSEEN_LABELS
from .preparation import DISTANCE_COLUMN, Preparation
from .sources import DataError, LocalFiles
from .splitting import check_folds
from .tokenizer import PAD_ID, UNK_ID
from .truncation import check_truncation

__all__ = ["ConfigError", "DataError", "EncodedSplit", "FilesDataModule", "TextDataModule", "check_folds"]

log = logging.getLogger(__name__)


class TextDataModule(LightningDataModule):
    """A text classification set as Lightning batches: reads the source, fixes the splits, trains the
    tokenizer on train only, encodes and caches, and serves length-bucketed batches.

    Args:
        source: a callable returning a ``datasets.DatasetDict`` (Hub, local files or the built-in
            generator); replaced by the files in ``data_dir`` when that is given. None: the set is
            only read from ``data_dir``.
        metric: what the set is judged by: ``accuracy`` (default), ``macro_f1`` or ``mcc``
            (``src.model.metrics``); the model logs it, results.json records it.
        unseen_labels: ``error`` (default) or ``keep``: a validation/test class that train lacks is an
            error, or a class of its own with no training examples (``src.data.labels``).
        local_source: what reads ``data_dir``, called with ``data_dir``, ``text_column`` and
            ``label_column`` (default: ``LocalFiles``, train.csv [validation.csv] [test.csv]).
        name: the set's name in results and reports.
        text_column, label_column, subset_column: the columns to read; ``subset_column`` (optional)
            names slices reported as ``test/acc_<subset>``.
        label_names: fix the classes and their order; default: the dataset's names or train's labels.
        validation_fraction, test_fraction, split_seed: carving of missing splits (stratified); the
            split seed stays fixed when the training ``seed`` changes.
        folds, fold: stratified cross-validation, test on fold ``fold`` of ``folds`` (null: fixed splits).
        min_frequency, max_vocab, lowercase, strip_html_breaks: the word-level tokenizer (``<br />`` read
            as a space with ``strip_html_breaks``); max_length: tokens kept per text, ``truncation``:
            which (``head``, ``tail``, ``head_tail``; ``src.data.truncation``).
        batch_size, eval_batch_size, bucketing, num_workers, seed: batching (``seed`` orders the batches).
        pad_to_multiple: pad each batch to a multiple of this many tokens (null: to its longest), so
            batches take few shapes (``model.compile=reduce-overhead`` captures one CUDA graph per shape).
        cache_dir: where tokenized splits are cached by content and settings (null: no cache).
    """

    def __init__(
        self,
        source: Callable[[], datasets.DatasetDict] | None,
        name: str = "data",
        text_column: str = "text",
        label_column: str = "label",
        subset_column: str | None = "subset",
        label_names: Sequence[str] | None = None,
        validation_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        min_frequency: int = 1,
        max_vocab: int = 50_000,
        lowercase: bool = True,
        max_length: int | None = 256,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        bucketing: bool = True,
        seed: int = 0,
        cache_dir: str | None = None,
        data_dir: str | None = None,
        folds: int | None = None,
        fold: int | None = None,
        pad_to_multiple: int | None = None,
        local_source: Callable[..., Callable[[], datasets.DatasetDict]] | None = None,
        unseen_labels: str = "error",
        truncation: str = "head",
        strip_html_breaks: bool = False,
        metric: str = "accuracy",
    ):
        super().__init__()
        self.folds, self.fold = check_folds(folds, fold)
        self.data_dir = data_dir
        if data_dir is not None:  # a local folder in place of the configured source (Hub, generator)
            source = (local_source or LocalFiles)(
                data_dir=str(data_dir), text_column=text_column, label_column=label_column
            )
        elif source is None:
            raise ConfigError(f"{name}: this set is read from a local folder only; set data.data_dir=FOLDER")
        self.source, self.name = source, name
        self.text_column, self.label_column, self.subset_column = text_column, label_column, subset_column
        self.given_label_names = list(label_names) if label_names else None
        self.validation_fraction, self.test_fraction, self.split_seed = validation_fraction, test_fraction, split_seed
        self.min_frequency, self.max_vocab, self.lowercase = min_frequency, max_vocab, lowercase
        if max_length is not None and max_length < 1:
            raise DataError(f"data.max_length must be >= 1 or null, got {max_length}")
        if num_workers < 0:
            raise DataError(f"data.num_workers must be >= 0, got {num_workers}")
        if pad_to_multiple is not None and (type(pad_to_multiple) is not int or pad_to_multiple < 1):
            raise ConfigError(f"data.pad_to_multiple must be a positive integer or null, got {pad_to_multiple!r}")
        self.pad_to_multiple = pad_to_multiple
        if unseen_labels not in UNSEEN_LABELS:
            raise ConfigError(f"data.unseen_labels must be one of {', '.join(UNSEEN_LABELS)}, got {unseen_labels!r}")
        self.unseen_labels = unseen_labels
        self.max_length, self.truncation = max_length, check_truncation(truncation)
        self.strip_html_breaks = bool(strip_html_breaks)
        self.metric = check_metric(metric)
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
    def setup(
        self, stage: str | None = None, tokenizer: Tokenizer | None = None, label_names: Sequence[str] | None = None
    ) -> None:
        """Idempotent. ``tokenizer`` and ``label_names`` (both from a checkpoint) replace training a
        tokenizer and deriving the classes; then no train split is needed (e.g. a test file alone)."""
        if self.splits:
            return
        given_names = list(label_names) if label_names else self.given_label_names
        preparation = self.preparation()
        raw = None
        if self.cache_dir is not None:
            if callable(getattr(self.source, "digest", None)):  # local files: keyed on their bytes,
                content = self.source.digest()  # so a hit never parses them
            else:
                raw = self._read(need_train=tokenizer is None)
                content = cache.content_digest(
                    raw, (self.text_column, self.label_column, self.subset_column, DISTANCE_COLUMN)
                )
            key = cache.cache_key(content, preparation.cache_settings(tokenizer, given_names))
            self.cache_path = self.cache_dir / f"{_safe(self.name)}-{key}"
            start = time.perf_counter()
            cached = cache.load(self.cache_path, self.name)
            if cached is not None:
                self._adopt(cached)
                self.cache_hit = True
                log.info(
                    "%s: loaded tokenized data from cache %s in %.2f s (no tokenizer training or encoding): "
                    "%s; vocabulary %d; labels %s",
                    self.name,
                    self.cache_path,
                    time.perf_counter() - start,
                    ", ".join(f"{s} {len(d)}" for s, d in self.splits.items()),
                    self.vocab_size,
                    self.label_names,
                )
                return
        start = time.perf_counter()
        if raw is None:
            raw = self._read(need_train=tokenizer is None)
        prepared = preparation.prepare(raw, tokenizer, given_names)
        log.info(
            "%s: prepared in %.2f s: %s; vocabulary %d; labels %s",
            self.name,
            time.perf_counter() - start,
            ", ".join(f"{s} {len(d)}" for s, d in prepared.splits.items()),
            prepared.tokenizer.get_vocab_size(),
            prepared.label_names,
        )
        if self.cache_path is not None:
            cache.save(self.cache_path, self.name, prepared)
            # serve the memory-mapped arrays, as a cached run does, and let the in-memory ones go
            prepared = cache.load(self.cache_path, self.name) or prepared
        self._adopt(prepared)

    def preparation(self) -> Preparation:
        """The settings that turn the raw splits into encoded ones, as they are now: every field of
        ``Preparation`` is an attribute of the same name here."""
        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(Preparation) if f.name != "fixed_classes"}
        return Preparation(**settings, fixed_classes=bool(self.given_label_names))

    def _read(self, need_train: bool) -> datasets.DatasetDict:
        raw = self.source()
        self.preparation().check_structure(raw, need_train)
        return raw

    def _adopt(self, prepared: cache.Prepared) -> None:
        self.splits, self.tokenizer = prepared.splits, prepared.tokenizer
        self.label_names, self.subset_names = prepared.label_names, prepared.subset_names

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
    def dataloader(self, split: str, shuffle: bool = False, batch_size: int | None = None) -> DataLoader:
        """Batches of ``split`` (after ``setup``): in evaluation order (sorted by length, the eval batch
        size unless ``batch_size`` is given) by default, shuffled and sharded across DDP ranks with
        ``shuffle=True``. A split the data does not have is a one-line DataError."""
        if split not in self.splits:
            raise DataError(f"{self.name}: no {split!r} split (have: {', '.join(self.splits) or 'none'})")
        data = self.splits[split]
        trainer = getattr(self, "trainer", None)
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        batch_size = batch_size or (self.batch_size if shuffle else self.eval_batch_size)
        sampler = BucketBatchSampler(
            data.lengths,
            batch_size,
            shuffle=shuffle,
            seed=self.seed,
            bucketing=self.bucketing,
            num_replicas=replicas if shuffle else 1,
            rank=rank if shuffle else 0,
        )
        return DataLoader(
            data,
            batch_sampler=sampler,
            collate_fn=partial(collate, pad_to_multiple=self.pad_to_multiple),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self):
        trainer = getattr(self, "trainer", None)
        # Lightning's overfit_batches (debug=overfit) needs the same few batches every epoch.
        overfitting = trainer is not None and trainer.overfit_batches > 0
        loader = self.dataloader("train", shuffle=not overfitting, batch_size=self.batch_size)
        efficiency = padding_efficiency(self.splits["train"].lengths, list(loader.batch_sampler), self.pad_to_multiple)
        log.info(
            "%s: padding efficiency %.3f on train batches (real tokens / padded slots; bucketing %s)",
            self.name,
            efficiency,
            "on" if self.bucketing else "off",
        )
        if trainer is not None and trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({"data/padding_efficiency": efficiency}, step=0)
        return loader

    def val_dataloader(self):
        return self.dataloader("validation")

    def test_dataloader(self):
        return self.dataloader("test")

    def padding_efficiency(self, split: str = "train") -> float:
        loader = self.dataloader(split, shuffle=split == "train")
        return padding_efficiency(self.splits[split].lengths, list(loader.batch_sampler), self.pad_to_multiple)


class FilesDataModule(TextDataModule):
    """``TextDataModule`` over local files: ``data=files data.train_file=... [data.validation_file=...]
    [data.test_file=...]`` or ``data.data_dir=FOLDER`` holding ``train.csv`` etc. (see
    ``src.data.sources.LocalFiles`` for the formats)."""

    def __init__(
        self,
        train_file: str | None = None,
        validation_file: str | None = None,
        test_file: str | None = None,
        data_dir: str | None = None,
        name: str | None = None,
        **kwargs,
    ):
        source = LocalFiles(
            train_file=train_file,
            validation_file=validation_file,
            test_file=test_file,
            data_dir=data_dir,
            text_column=kwargs.get("text_column", "text"),
            label_column=kwargs.get("label_column", "label"),
        )
        if not name:
            anchor = Path(data_dir or train_file or test_file or validation_file or "data").expanduser()
            is_split_file = anchor.stem in ("train", "validation", "dev", "valid", "test")
            name = anchor.name if data_dir else (anchor.parent.name if is_split_file else anchor.stem)
        super().__init__(source=source, name=name or "files", **kwargs)  # its source already reads data_dir
        self.data_dir = data_dir


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "data"
