"""One LightningDataModule for every text classification source (built-in, HF Hub, local files).

A *source* is any callable returning a ``datasets.DatasetDict`` with a text and a label column
(and optionally a ``subset`` column naming slices to report separately). The module validates it,
trains the word tokenizer on the train split only, encodes every split once, and serves
length-bucketed batches.
"""
from __future__ import annotations

import logging
from typing import Callable

import datasets
import numpy as np
from lightning import LightningDataModule
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, Dataset

from .batching import BucketBatchSampler, collate, padding_efficiency
from .tokenizer import PAD_ID, encode, train_word_tokenizer

log = logging.getLogger(__name__)
SPLITS = ("train", "validation", "test")


class DataError(ValueError):
    """Bad input data, reported in one line naming the split, column or value."""


class EncodedSplit(Dataset):
    def __init__(self, ids: list[list[int]], labels: np.ndarray, subsets: np.ndarray | None):
        self.ids, self.labels, self.subsets = ids, labels, subsets
        self.lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.ids[i], "label": int(self.labels[i]), "index": i}
        if self.subsets is not None:
            item["subset"] = int(self.subsets[i])
        return item


class TextDataModule(LightningDataModule):
    def __init__(self, source: Callable[[], datasets.DatasetDict], name: str = "data",
                 text_column: str = "text", label_column: str = "label", subset_column: str | None = "subset",
                 min_frequency: int = 1, max_vocab: int = 50_000, lowercase: bool = True,
                 max_length: int | None = 256, batch_size: int = 64, eval_batch_size: int | None = None,
                 num_workers: int = 0, bucketing: bool = True, seed: int = 0):
        super().__init__()
        self.source, self.name = source, name
        self.text_column, self.label_column, self.subset_column = text_column, label_column, subset_column
        self.min_frequency, self.max_vocab, self.lowercase = min_frequency, max_vocab, lowercase
        if max_length is not None and max_length < 1:
            raise DataError(f"data.max_length must be >= 1 or null, got {max_length}")
        self.max_length = max_length
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.num_workers, self.bucketing, self.seed = num_workers, bucketing, seed
        self.tokenizer: Tokenizer | None = None
        self.label_names: list[str] = []
        self.subset_names: list[str] = []
        self.splits: dict[str, EncodedSplit] = {}

    # ------------------------------------------------------------------ loading and validation
    def setup(self, stage: str | None = None, tokenizer: Tokenizer | None = None) -> None:
        """Idempotent. ``tokenizer`` (from a checkpoint) replaces training a new one."""
        if self.splits:
            return
        raw = self.source()
        for split in SPLITS:
            if split not in raw and not (split == "train" and tokenizer is not None):
                raise DataError(f"{self.name}: no '{split}' split (found: {', '.join(raw) or 'none'})")
        for split, ds in raw.items():
            missing = [c for c in (self.text_column, self.label_column) if c not in ds.column_names]
            if missing:
                raise DataError(f"{self.name}/{split}: missing column {missing[0]!r} "
                                f"(columns: {', '.join(ds.column_names)})")
            if len(ds) == 0:
                raise DataError(f"{self.name}/{split}: the split is empty")
        self.label_names = self._label_names(raw)
        subsets = self.subset_column and all(self.subset_column in ds.column_names for ds in raw.values())
        self.subset_names = sorted({s for ds in raw.values() for s in ds[self.subset_column]}) if subsets else []
        texts = {split: self._texts(split, ds) for split, ds in raw.items()}
        self.tokenizer = tokenizer or train_word_tokenizer(
            texts["train"], self.min_frequency, self.max_vocab, self.lowercase)
        for split, ds in raw.items():
            ids = encode(self.tokenizer, texts[split], self.max_length)
            keep = np.fromiter((len(x) > 0 for x in ids), dtype=bool, count=len(ids))
            if not keep.all():
                log.warning("%s/%s: dropped %d of %d examples with no tokens", self.name, split,
                            int((~keep).sum()), len(ids))
            labels = np.asarray(ds[self.label_column], dtype=np.int64)[keep]
            subs = None
            if self.subset_names:
                lookup = {s: i for i, s in enumerate(self.subset_names)}
                subs = np.asarray([lookup[s] for s in ds[self.subset_column]], dtype=np.int64)[keep]
            self.splits[split] = EncodedSplit([x for x, k in zip(ids, keep) if k], labels, subs)
        log.info("%s: %s; vocabulary %d; labels %s", self.name,
                 ", ".join(f"{s} {len(d)}" for s, d in self.splits.items()), self.vocab_size, self.label_names)

    def _texts(self, split: str, ds: datasets.Dataset) -> list[str]:
        texts = ds[self.text_column]
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                if text is None:
                    texts[row] = ""
                    continue
                raise DataError(f"{self.name}/{split}: column {self.text_column!r} row {row} is not text: {text!r}")
        return texts

    def _label_names(self, raw: datasets.DatasetDict) -> list[str]:
        feature = next(iter(raw.values())).features[self.label_column]
        if isinstance(feature, datasets.ClassLabel):
            return list(feature.names)
        values = sorted({int(v) for ds in raw.values() for v in ds[self.label_column]})
        if values and (values[0] < 0):
            raise DataError(f"{self.name}: column {self.label_column!r} has negative label {values[0]}")
        return [str(i) for i in range(values[-1] + 1)] if values else []

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

    # ------------------------------------------------------------------ loaders
    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        data = self.splits[split]
        trainer = getattr(self, "trainer", None)
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = BucketBatchSampler(data.lengths, self.batch_size if shuffle else self.eval_batch_size,
                                     shuffle=shuffle, seed=self.seed, bucketing=self.bucketing,
                                     num_replicas=replicas if shuffle else 1, rank=rank if shuffle else 0)
        return DataLoader(data, batch_sampler=sampler, collate_fn=collate, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("validation", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)

    def padding_efficiency(self, split: str = "train") -> float:
        loader = self._loader(split, shuffle=split == "train")
        return padding_efficiency(self.splits[split].lengths, list(loader.batch_sampler))
