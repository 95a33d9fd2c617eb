"""``lightning_over_plain``: one training epoch through Lightning's ``Trainer``, configured as
``python -m src.train`` configures it, over a hand-written loop doing the same work, both timed
from the epoch's start to its last training batch (as ``TrainThroughput`` does)."""

from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

import torch
from lightning import Callback

from src.bench.config import compose, model_overrides
from src.bench.ratios import ci_width, paired_ratio
from src.bench.timing import autocast, build_model, synchronize, to_device


class BatchClock(Callback):
    """When each training batch ends, from the epoch's start (as ``TrainThroughput`` times it)."""

    def __init__(self, device: torch.device):
        self.device, self.stamps = device, []

    def on_train_epoch_start(self, trainer, pl_module):
        synchronize(self.device)
        self.stamps = [time.perf_counter()]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        synchronize(self.device)
        self.stamps.append(time.perf_counter())


def lightning_epoch(cfg, datamodule, device, epoch_batches: int | None, extra_callbacks=()) -> list[float]:
    """One epoch of ``trainer.fit`` with the training script's trainer, callbacks and loggers;
    returns the seconds each training batch took (hooks, logging and data loading included)."""
    import hydra

    from src.utils.instantiate import instantiate_each

    model, _ = build_model(cfg, datamodule, device)
    clock = BatchClock(device)
    callbacks = instantiate_each(cfg.get("callbacks")) + list(extra_callbacks) + [clock]
    loggers = instantiate_each(cfg.get("logger"))
    extra = {"max_epochs": 1}
    if epoch_batches:
        extra["limit_train_batches"] = epoch_batches
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, datamodule=datamodule)
    return [b - a for a, b in zip(clock.stamps, clock.stamps[1:])]


def plain_epoch(cfg, datamodule, device, epoch_batches: int | None, precision: str) -> list[float]:
    """The same epoch by hand: same model and optimizer, the module's own ``training_step``
    (loss, metrics, the finiteness check), clipping and the same data loader and batches."""
    model, optimizer = build_model(cfg, datamodule, device)
    clip = cfg.trainer.get("gradient_clip_val")
    params = [p for p in model.parameters() if p.requires_grad]
    loader = datamodule.train_dataloader()
    loader.batch_sampler.set_epoch(0)
    synchronize(device)
    stamps = [time.perf_counter()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # self.log() without a Trainer is a no-op that warns
        for index, batch in enumerate(loader):
            if epoch_batches and index >= epoch_batches:
                break
            batch = to_device(batch, device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, precision):
                loss = model.training_step(batch, index)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(params, clip)
            optimizer.step()
            synchronize(device)
            stamps.append(time.perf_counter())
    return [b - a for a, b in zip(stamps, stamps[1:])]


def measure_lightning(args, datamodule, device, workdir: Path) -> dict:
    """Epochs of both loops, alternating, each pair giving one ratio; more pairs (up to
    ``--max-rounds``) until the ratio's 95% interval is ``--ci-width`` wide."""
    cfg = compose(model_overrides(args, args.lightning_summarizer, device), workdir)
    epochs = {"plain": [], "lightning": []}

    def ratio() -> dict:
        return paired_ratio(epochs["lightning"], epochs["plain"])

    while len(epochs["plain"]) < args.lightning_repeats or (
        ci_width(ratio()) > args.ci_width and len(epochs["plain"]) < args.max_rounds
    ):
        order = ("plain", "lightning") if len(epochs["plain"]) % 2 == 0 else ("lightning", "plain")
        for kind in order:
            if kind == "plain":
                batch_seconds = plain_epoch(cfg, datamodule, device, args.epoch_batches, args.precision)
            else:
                batch_seconds = lightning_epoch(cfg, datamodule, device, args.epoch_batches)
            epochs[kind].append(sum(batch_seconds))
    count = len(batch_seconds)
    result = ratio()
    return {
        "lightning_over_plain": result["ratio"],
        "lightning_over_plain_ci95": result["ci95"],
        "lightning_over_plain_pairs": result["pairs"],
        "lightning_epoch_s": statistics.median(epochs["lightning"]),
        "plain_epoch_s": statistics.median(epochs["plain"]),
        "lightning_epoch_batches": count,
    }
