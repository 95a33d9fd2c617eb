"""Length-bucketed batching: every example once per epoch, little padding, fresh random buckets each
epoch (also inside a real Lightning fit), a fixed evaluation order, and a logged padding efficiency."""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from src.data.batching import BucketBatchSampler, collate, padding_efficiency
from src.data.datamodule import FilesDataModule


def mr_like_lengths(n: int = 8000, seed: int = 0) -> np.ndarray:
    """Sentence lengths shaped like MR's (1..68 tokens, mean ~21)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(mean=2.9, sigma=0.5, size=n).round(), 1, 68).astype(int)


def test_padding_efficiency_counts_real_tokens_over_padded_slots():
    lengths = [1, 2, 3, 4]
    assert padding_efficiency(lengths, [[0, 3], [1, 2]]) == pytest.approx(10 / 14)
    assert padding_efficiency(lengths, [[0], [1], [2], [3]]) == 1.0


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_index_exactly_once_per_epoch(shuffle):
    lengths = mr_like_lengths(1003)
    sampler = BucketBatchSampler(lengths, batch_size=64, shuffle=shuffle, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 16
    assert sorted(i for b in batches for i in b) == list(range(1003))
    assert sorted(len(b) for b in batches)[1:] == [64] * 15  # only one short batch


def test_training_buckets_reshuffle_each_epoch_and_replay_for_the_same_epoch():
    lengths = mr_like_lengths(2000)
    sampler = BucketBatchSampler(lengths, batch_size=32, shuffle=True, seed=0)
    sampler.set_epoch(0)
    epoch0 = list(sampler)
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == epoch0  # a resumed epoch sees the same batches
    assert epoch0 != epoch1
    # not just the batch order: the batches' members differ too
    assert {tuple(sorted(b)) for b in epoch0} != {tuple(sorted(b)) for b in epoch1}
    other_seed = BucketBatchSampler(lengths, batch_size=32, shuffle=True, seed=1)
    assert list(other_seed) != epoch0


def test_evaluation_order_is_deterministic_and_sorted_by_length():
    lengths = mr_like_lengths(500)
    a = BucketBatchSampler(lengths, batch_size=50, shuffle=False, seed=0)
    b = BucketBatchSampler(lengths, batch_size=50, shuffle=False, seed=99)
    b.set_epoch(5)
    assert list(a) == list(b)
    order = [i for batch in a for i in batch]
    assert np.all(np.diff(lengths[order]) >= 0)


def test_bucketing_keeps_padding_efficiency_high():
    lengths = mr_like_lengths()
    bucketed = BucketBatchSampler(lengths, batch_size=64, shuffle=True, seed=0)
    plain = BucketBatchSampler(lengths, batch_size=64, shuffle=True, seed=0, bucketing=False)
    with_buckets = padding_efficiency(lengths, list(bucketed))
    without = padding_efficiency(lengths, list(plain))
    assert with_buckets >= 0.90  # the bar (0.94 here; 0.96 on MR itself, see test_real_data.py)
    assert without < 0.50  # the same data, randomly batched, wastes more than half of the slots


def test_replicas_split_the_batches_without_overlap():
    lengths = mr_like_lengths(640)
    ranks = [
        list(BucketBatchSampler(lengths, batch_size=32, shuffle=True, seed=0, num_replicas=2, rank=r)) for r in (0, 1)
    ]
    assert len(ranks[0]) == len(ranks[1]) == 10
    seen = [i for rank in ranks for b in rank for i in b]
    assert sorted(seen) == list(range(640))


def test_collate_right_pads_with_zero():
    items = [
        {"input_ids": np.array([5, 6, 7], dtype=np.int32), "label": 1, "index": 4},
        {"input_ids": np.array([9], dtype=np.int32), "label": 0, "index": 2},
    ]
    batch = collate(items)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [9, 0, 0]]
    assert batch["input_ids"].dtype == torch.long
    assert batch["lengths"].tolist() == [3, 1]
    assert batch["label"].tolist() == [1, 0]
    assert batch["index"].tolist() == [4, 2]


def test_collate_pads_to_a_multiple_and_keeps_the_true_lengths():
    items = [
        {"input_ids": np.array([5, 6, 7], dtype=np.int32), "label": 1, "index": 4},
        {"input_ids": np.array([9], dtype=np.int32), "label": 0, "index": 2},
    ]
    batch = collate(items, pad_to_multiple=4)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 0], [9, 0, 0, 0]]
    assert batch["lengths"].tolist() == [3, 1]
    assert collate(items, pad_to_multiple=3)["input_ids"].shape == (2, 3)  # already a multiple
    for key, value in collate(items, pad_to_multiple=None).items():  # null: today's batches, bit for bit
        assert torch.equal(value, collate(items)[key]), key


def test_pad_to_multiple_bounds_the_batch_shapes_of_an_epoch():
    """Each shape is one CUDA graph to capture: with a multiple of 16, MR-like lengths (at most 68)
    give 5 widths, times 2 batch sizes (the full one and the epoch's one short batch)."""
    lengths = mr_like_lengths(1003)
    sampler = BucketBatchSampler(lengths, batch_size=64, shuffle=True, seed=0)
    items = [{"input_ids": np.ones(n, dtype=np.int32), "label": 0, "index": i} for i, n in enumerate(lengths)]
    shapes, free_shapes = set(), set()
    for epoch in range(3):
        sampler.set_epoch(epoch)
        for batch in sampler:
            shapes.add(tuple(collate([items[i] for i in batch], pad_to_multiple=16)["input_ids"].shape))
            free_shapes.add(tuple(collate([items[i] for i in batch])["input_ids"].shape))
    assert {width % 16 for _, width in shapes} == {0}
    assert {size for size, _ in shapes} == {64, 1003 % 64}
    assert len(shapes) <= 2 * 5 < len(free_shapes)
    batches = list(sampler)  # the price: more padded slots, counted as such
    assert padding_efficiency(lengths, batches, pad_to_multiple=16) < padding_efficiency(lengths, batches)


class _RecordingModel(L.LightningModule):
    """Trains nothing; records which examples each training epoch's batches held."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.epochs: list[list[tuple[int, ...]]] = []

    def on_train_epoch_start(self):
        self.epochs.append([])

    def training_step(self, batch, batch_idx):
        self.epochs[-1].append(tuple(batch["index"].tolist()))
        return (self.weight * batch["lengths"].float()).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_lightning_reshuffles_buckets_every_epoch_and_logs_padding_efficiency(tmp_path: Path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    path = tmp_path / "train.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(300):
            writer.writerow([" ".join(rng.choice(words, size=int(rng.integers(1, 40)))), i % 2])
    dm = FilesDataModule(train_file=str(path), batch_size=16, seed=0, cache_dir=None)
    model = _RecordingModel()
    logger = L.pytorch.loggers.CSVLogger(tmp_path, name="log")
    trainer = L.Trainer(
        max_epochs=3,
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        accelerator="cpu",
    )
    trainer.fit(model, datamodule=dm)
    first, second, third = model.epochs
    assert sorted(i for b in first for i in b) == sorted(i for b in second for i in b)
    assert first != second and second != third
    metrics = (Path(logger.log_dir) / "metrics.csv").read_text()
    assert "data/padding_efficiency" in metrics
    efficiency = dm.padding_efficiency()
    assert f"{efficiency:.6f}"[:6] in metrics
    assert efficiency > 0.85
