"""The training script's callbacks: ``TrainThroughput`` (the training rate in results.json and
``train/tokens_per_s``) and the progress bar's redraw rate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from src.callbacks import TrainThroughput
from tests.helpers import compose_train_config


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


def test_the_progress_bar_redraws_a_few_times_a_second(tmp_path):
    """Lightning's default bar redraws after every batch (~1 ms a step on 2 cores,
    docs/performance.md); the training script's callbacks bring their own, slower one, and
    refresh_rate=0 still turns it off."""
    from lightning.pytorch.callbacks import ProgressBar

    from src.utils.instantiate import instantiate_each

    bars = [c for c in instantiate_each(compose_train_config([], tmp_path).callbacks) if isinstance(c, ProgressBar)]
    assert len(bars) == 1 and bars[0].is_enabled
    assert 1 <= bars[0].refresh_rate <= 10  # redraws a second
    off = compose_train_config(["callbacks.progress_bar.refresh_rate=0"], tmp_path).callbacks
    assert not [c for c in instantiate_each(off) if isinstance(c, ProgressBar)][0].is_enabled
