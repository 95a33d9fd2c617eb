"""Same seed and config -> identical results.json; another seed -> other numbers; data order and
dropout depend only on (seed, epoch), which is what makes a resumed run replay an uninterrupted one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning import Callback
from omegaconf import open_dict

from src.checkpointing import ResumableTraining, seed_epoch
from src.data.batching import BucketBatchSampler
from tests.helpers import RUN_METRICS, SMALL_DATA, SMALL_LSTM, compose_train_config

SMALL = [
    *SMALL_LSTM,
    *SMALL_DATA,
    "trainer.max_epochs=2",
    "data.source.seed=0",
]  # the data stays fixed: only the model's seed varies
METRIC_KEYS = RUN_METRICS


def train_here(overrides: list[str], out: Path) -> dict:
    from src.train import train

    cfg = compose_train_config(list(overrides), out)
    with open_dict(cfg):
        del cfg["hydra"]
    return train(cfg)


def val_losses(run: Path) -> list[float]:
    with open(run / "csv" / "metrics.csv") as f:
        return [float(row["val/loss"]) for row in csv.DictReader(f) if row.get("val/loss")]


class BatchRecorder(Callback):
    """Test helper: the example indices of every training batch, per epoch."""

    epochs: dict = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        type(self).epochs.setdefault(trainer.current_epoch, []).append(batch["index"].tolist())


@pytest.mark.slow
def test_same_seed_gives_identical_results_and_another_seed_differs(tmp_path):
    BatchRecorder.epochs = {}
    recorder = [f"+callbacks.batch_recorder._target_={BatchRecorder.__module__}.BatchRecorder"]
    first = train_here(SMALL + ["seed=1"] + recorder, tmp_path / "a")
    batches = dict(BatchRecorder.epochs)
    second = train_here(SMALL + ["seed=1"], tmp_path / "b")
    other = train_here(SMALL + ["seed=2"], tmp_path / "c")

    a, b = (json.loads((tmp_path / run / "results.json").read_text()) for run in ("a", "b"))
    assert {k: a[k] for k in METRIC_KEYS} == {k: b[k] for k in METRIC_KEYS}
    assert {k: first[k] for k in METRIC_KEYS} == {k: a[k] for k in METRIC_KEYS}
    assert val_losses(tmp_path / "a") == val_losses(tmp_path / "b")  # every epoch, to the last bit
    best_a = torch.load(a["best_checkpoint"], weights_only=True)["state_dict"]
    best_b = torch.load(b["best_checkpoint"], weights_only=True)["state_dict"]
    assert all(torch.equal(best_a[k], best_b[k]) for k in best_a)

    # another seed: other initial weights, dropout and batch order, so other losses
    assert other["seed"] == 2 and val_losses(tmp_path / "c") != val_losses(tmp_path / "a")
    assert all(x != y for x, y in zip(val_losses(tmp_path / "c"), val_losses(tmp_path / "a")))

    # the data order: reshuffled every epoch, and a function of (seed, epoch) only
    assert sorted(batches) == [0, 1] and batches[0] != batches[1]
    for epoch, seen in batches.items():
        assert sorted(i for batch in seen for i in batch) == list(range(300))
        assert seen == _sampler_batches(tmp_path / "a", seed=1, epoch=epoch), epoch
    assert second["seed"] == 1


def _sampler_batches(run: Path, seed: int, epoch: int) -> list[list[int]]:
    """The batches `BucketBatchSampler` yields for the run's train split at ``epoch``."""
    import hydra

    cfg = compose_train_config(SMALL + [f"seed={seed}"], run)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    sampler = BucketBatchSampler(
        datamodule.splits["train"].lengths,
        datamodule.batch_size,
        shuffle=True,
        seed=seed,
        bucketing=datamodule.bucketing,
    )
    sampler.set_epoch(epoch)
    return list(sampler)


def test_each_epoch_is_seeded_from_seed_epoch_and_rank_alone():
    def draws(seed, epoch, rank=0):
        seed_epoch(seed, epoch, rank)
        return torch.rand(3).tolist(), float(np.random.rand()), __import__("random").random()

    assert draws(0, 1) == draws(0, 1)
    assert draws(0, 1) != draws(0, 2) and draws(0, 1) != draws(1, 1) and draws(0, 1) != draws(0, 1, rank=1)
    assert draws(0, 1)[0] != draws(1, 0)[0]  # (seed, epoch) pairs do not collide like seed + epoch would

    class FakeTrainer:
        current_epoch, global_rank = 3, 0

    callback = ResumableTraining(seed=7)
    torch.manual_seed(123)
    callback.on_train_batch_start(FakeTrainer, None, None, batch_idx=0)  # first batch: re-seeded
    after_first = torch.rand(2)
    torch.manual_seed(123)
    callback.on_train_batch_start(FakeTrainer, None, None, batch_idx=5)  # later batches: untouched
    after_later = torch.rand(2)
    seed_epoch(7, 3, 0)
    assert torch.equal(after_first, torch.rand(2))
    torch.manual_seed(123)
    assert torch.equal(after_later, torch.rand(2))


@pytest.mark.slow
def test_loader_workers_change_nothing_but_speed(tmp_path):
    """``data.num_workers`` moves collation into worker processes; the batches (drawn by the
    sampler in the main process, reshuffled each epoch) and so every number must stay the same."""
    BatchRecorder.epochs = {}
    recorder = [f"+callbacks.batch_recorder._target_={BatchRecorder.__module__}.BatchRecorder"]
    with_workers = train_here(SMALL + ["seed=1", "data.num_workers=2"] + recorder, tmp_path / "w")
    batches = dict(BatchRecorder.epochs)
    in_process = train_here(SMALL + ["seed=1", "data.num_workers=0"], tmp_path / "p")
    assert {k: with_workers[k] for k in METRIC_KEYS} == {k: in_process[k] for k in METRIC_KEYS}
    assert val_losses(tmp_path / "w") == val_losses(tmp_path / "p")
    assert batches[0] != batches[1]  # persistent workers still see each epoch's new order
    for epoch, seen in batches.items():
        assert seen == _sampler_batches(tmp_path / "w", seed=1, epoch=epoch), epoch
