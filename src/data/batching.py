"""Length-bucketed batches: little padding, still random order in training, fixed order in eval."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Yields lists of indices whose sequences have similar lengths.

    Training (``shuffle=True``): indices are shuffled, cut into pools of ``batch_size * pool_factor``,
    each pool is sorted by length and cut into batches, and the batches are shuffled; the
    permutation depends only on ``seed`` and the epoch (``set_epoch``), so a resumed run sees the
    same batches. Evaluation (``shuffle=False``): all indices sorted by length, so the order is
    deterministic. With ``num_replicas > 1`` each rank takes every num_replicas-th batch (the batch
    list is padded by repetition so every rank gets the same count).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        bucketing: bool = True,
        pool_factor: int = 50,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.bucketing, self.pool_factor, self.drop_last = bucketing, pool_factor, drop_last
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def sampler(self) -> BucketBatchSampler:
        """Lightning calls ``set_epoch`` on ``loader.sampler`` and ``loader.batch_sampler.sampler``,
        never on the batch sampler itself; pointing ``sampler`` here is what makes the buckets
        reshuffle every epoch (and a resumed run replay its epoch's batches)."""
        return self

    def _batches(self) -> list[np.ndarray]:
        n = len(self.lengths)
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            order = rng.permutation(n)
            if self.bucketing:
                pool = self.batch_size * self.pool_factor
                order = (
                    np.concatenate(
                        [
                            chunk[np.argsort(self.lengths[chunk], kind="stable")]
                            for chunk in np.array_split(order, max(1, math.ceil(n / pool)))
                        ]
                    )
                    if n
                    else order
                )
        else:
            order = np.argsort(self.lengths, kind="stable") if self.bucketing else np.arange(n)
        batches = [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        if self.num_replicas > 1:
            per_rank = math.ceil(len(batches) / self.num_replicas)
            batches = (batches * self.num_replicas)[: per_rank * self.num_replicas] if batches else batches
            batches = batches[self.rank :: self.num_replicas]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._batches():
            yield batch.tolist()

    def __len__(self) -> int:
        n = len(self.lengths)
        count = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return math.ceil(count / self.num_replicas)


def padded_width(longest: int, pad_to_multiple: int | None = None) -> int:
    """A batch's padded length: its longest sequence, rounded up to a multiple of ``pad_to_multiple``
    when given, so that an epoch's batches take a few fixed shapes (what CUDA graphs are captured for)."""
    return -(-longest // pad_to_multiple) * pad_to_multiple if pad_to_multiple else longest


def padding_efficiency(lengths: Sequence[int], batches: list[list[int]], pad_to_multiple: int | None = None) -> float:
    """Real tokens / padded slots over the given batches (1.0 means no padding at all)."""
    lengths = np.asarray(lengths)
    real = sum(int(lengths[b].sum()) for b in batches)
    slots = sum(padded_width(int(lengths[b].max()), pad_to_multiple) * len(b) for b in batches if len(b))
    return real / slots if slots else 1.0


def collate(items: list[dict], pad_to_multiple: int | None = None) -> dict[str, torch.Tensor]:
    """Right-pad ``input_ids`` with 0 ([PAD]) to ``padded_width``; everything else is stacked.
    ``lengths`` stay the true lengths: padding never changes a summary (the summarizer contract)."""
    lengths = np.fromiter((len(it["input_ids"]) for it in items), dtype=np.int64, count=len(items))
    ids = np.zeros((len(items), padded_width(int(lengths.max()), pad_to_multiple) if len(items) else 0), dtype=np.int64)
    for row, it in enumerate(items):
        ids[row, : lengths[row]] = it["input_ids"]
    batch = {
        "input_ids": torch.from_numpy(ids),
        "lengths": torch.from_numpy(lengths),
        "index": torch.tensor([it["index"] for it in items], dtype=torch.long),
    }
    for key in ("label", "subset", "distance", "full_length"):
        if key in items[0]:
            batch[key] = torch.tensor([it[key] for it in items], dtype=torch.long)
    return batch
