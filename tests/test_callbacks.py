"""``TrainThroughput``: the training rate in results.json and ``train/tokens_per_s``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from src.callbacks import TrainThroughput


class FakeModule:
    device = torch.device("cpu")

    def __init__(self):
        self.logged = {}

    def log(self, name, value, **kwargs):
        self.logged[name] = value


def run_epoch(callback, trainer, module, batch_lengths, clock, monkeypatch, seconds):
    """One epoch whose batches end at evenly spaced times, ``seconds`` in all."""
    monkeypatch.setattr("src.callbacks.time.perf_counter", lambda: clock[0])
    callback.on_train_epoch_start(trainer, module)
    for lengths in batch_lengths:
        clock[0] += seconds / len(batch_lengths)
        callback.on_train_batch_end(trainer, module, None, {"lengths": torch.tensor(lengths)}, 0)
    clock[0] += 100.0  # validation and checkpointing after the last batch: not counted
    callback.on_train_epoch_end(trainer, module)


def test_counts_real_tokens_over_training_time_only(monkeypatch):
    callback, module, clock = TrainThroughput(), FakeModule(), [0.0]
    trainer = SimpleNamespace(strategy=SimpleNamespace(all_gather=lambda t: t))  # one process
    run_epoch(callback, trainer, module, [[3, 5], [2, 2, 8]], clock, monkeypatch, seconds=2.0)
    assert module.logged["train/tokens_per_s"] == pytest.approx(20 / 2.0)
    run_epoch(callback, trainer, module, [[10]], clock, monkeypatch, seconds=3.0)
    assert callback.tokens_per_second == pytest.approx(30 / 5.0)  # cumulative over epochs


def test_under_ddp_it_is_the_whole_jobs_rate(monkeypatch):
    """Two ranks: this one did 20 tokens in 2 s, the other 30 in 4 s -> 50 tokens in 4 s."""
    other_rank = torch.tensor([30.0, 4.0], dtype=torch.float64)
    trainer = SimpleNamespace(strategy=SimpleNamespace(all_gather=lambda t: torch.stack([t, other_rank])))
    callback, module = TrainThroughput(), FakeModule()
    run_epoch(callback, trainer, module, [[3, 5], [2, 2, 8]], [0.0], monkeypatch, seconds=2.0)
    assert module.logged["train/tokens_per_s"] == pytest.approx(50 / 4.0)
    assert callback.tokens_per_second == pytest.approx(50 / 4.0)
