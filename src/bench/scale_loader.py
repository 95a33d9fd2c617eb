"""The scale bench's loader checks: training batches fetched and collated from the memory-mapped cache
against the ``lstm_h`` step on them, per batch on one thread, and over one whole epoch on every core.
Each runs in a fresh process and prints one RESULT line (``src.bench.scale.in_child``)."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from src.bench.scale_data import data_overrides


def lstm_h_training(csv_path: str, cache_dir: str, workdir: str, threads: int):
    """The set's datamodule and an ``lstm_h`` training step (embedding 300, hidden 256, batch 64)
    on ``threads`` threads, as the loader checks use them."""
    import hydra
    import torch

    from src.bench.config import compose
    from src.bench.timing import build_model, make_step
    from src.utils.cpu import configure_cpu

    configure_cpu({"threads": threads})  # as the training script's processes
    overrides = ["summarizer=lstm_h", "model.embedding.dim=300", "summarizer.hidden_size=256", "data.batch_size=64"]
    cfg = compose(data_overrides(csv_path, cache_dir) + overrides, Path(workdir))
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup()
    model, optimizer = build_model(cfg, datamodule, torch.device("cpu"))
    step = make_step(model, optimizer, cfg.trainer.get("gradient_clip_val"), torch.device("cpu"), "32")
    return datamodule, step


def child_loader(csv_path: str, cache_dir: str, workdir: str, batches: str) -> None:
    """Per-batch loader time (fetch + collate from the memory-mapped cache) against the lstm_h
    training step on the same batches, one thread; prints one JSON line."""
    datamodule, step = lstm_h_training(csv_path, cache_dir, workdir, threads=1)
    loader = datamodule.train_dataloader()
    start = time.perf_counter()
    list(loader.batch_sampler)  # the epoch's batch list, made once an epoch: spread over its batches below
    epoch_start_ms = 1e3 * (time.perf_counter() - start)
    iterator = iter(loader)
    next(iterator)  # the first batch also makes the batch list
    load_seconds, loaded = [], []
    for _ in range(min(int(batches), len(loader) - 1)):
        start = time.perf_counter()
        loaded.append(next(iterator))
        load_seconds.append(time.perf_counter() - start)
    for batch in loaded[:3]:  # warm-up
        step(batch)
    step_seconds = []
    for batch in loaded:
        start = time.perf_counter()
        step(batch)
        step_seconds.append(time.perf_counter() - start)
    load_ms = 1e3 * statistics.mean(load_seconds) + epoch_start_ms / len(loader)
    step_ms = 1e3 * statistics.mean(step_seconds)
    result = {
        "cache_hit": datamodule.cache_hit,
        "batch_size": 64,
        "batches": len(loaded),
        "epoch_batches": len(loader),
        "epoch_start_ms": round(epoch_start_ms, 2),
        "load_ms": round(load_ms, 3),
        "step_ms": round(step_ms, 2),
        "ratio": round((step_ms + load_ms) / step_ms, 4),
    }
    print("RESULT " + json.dumps(result))


def child_loader_epoch(csv_path: str, cache_dir: str, workdir: str, sample: str) -> None:
    """One whole training epoch as a training loop meets it (each batch loaded, then the lstm_h
    step on it, on every core as the bench steps), against the steps alone: its wall time over the
    sum of the steps' times with nothing loading in between. Re-timing every batch alone would
    double the run, so ``sample`` of the epoch's batches (spread over it) are stepped again alone,
    and the in-epoch step times are scaled by how those compare. Prints one JSON line."""
    datamodule, step = lstm_h_training(csv_path, cache_dir, workdir, threads=os.cpu_count())
    loader = datamodule.train_dataloader()
    warm = iter(loader)
    for _ in range(3):
        step(next(warm))
    del warm
    every = max(1, len(loader) // int(sample))
    kept, load_seconds, step_seconds = {}, [], []
    epoch_start = last = time.perf_counter()
    for index, batch in enumerate(loader):  # as Lightning's loop and src.bench.lightning_loop.plain_epoch fetch it
        loaded = time.perf_counter()
        step(batch)
        stepped = time.perf_counter()
        load_seconds.append(loaded - last)
        step_seconds.append(stepped - loaded)
        last = stepped
        if index % every == 0 and len(kept) < int(sample):
            kept[index] = batch
    epoch_seconds = time.perf_counter() - epoch_start
    alone = {}
    for index, batch in kept.items():
        start = time.perf_counter()
        step(batch)
        alone[index] = time.perf_counter() - start
    drift = sum(alone.values()) / sum(step_seconds[i] for i in alone)  # alone / in the epoch, same batches
    steps_alone = sum(step_seconds) * drift
    result = {
        "cache_hit": datamodule.cache_hit,
        "batch_size": 64,
        "threads": os.cpu_count(),
        "epoch_batches": len(step_seconds),
        "epoch_s": round(epoch_seconds, 2),
        "load_s": round(sum(load_seconds), 3),
        "steps_in_epoch_s": round(sum(step_seconds), 2),
        "sample_batches": len(alone),
        "alone_over_in_epoch": round(drift, 4),
        "steps_alone_s": round(steps_alone, 2),
        "ratio": round(epoch_seconds / steps_alone, 4),
    }
    print("RESULT " + json.dumps(result))
