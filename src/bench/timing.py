"""How the benchmark times a training step: the training script's model and optimizer, one step
as Lightning runs it, and a round of steps between device synchronisations."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F


def say(message: str) -> None:
    """Progress, on stderr (the table and the JSON are the results)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def build_model(cfg, datamodule, device: torch.device):
    """The training script's model (same seed, same init) and its optimizer."""
    import lightning as L

    from src.model.module import build_model as build_classifier

    L.seed_everything(cfg.seed, verbose=False)
    model = build_classifier(cfg, datamodule).to(device)
    model.train()
    optimizer = model.configure_optimizers()
    if isinstance(optimizer, dict):
        optimizer = optimizer["optimizer"]
    return model, optimizer


def make_step(
    model, optimizer, clip: float | None, device: torch.device, precision: str, optimizer_seconds: list | None = None
) -> Callable[[dict], None]:
    """One training step as Lightning runs it: zero grads, forward + loss, backward, clip, step.
    With ``optimizer_seconds``, the optimizer's step is timed on its own (synchronised) into it."""
    params = [p for p in model.parameters() if p.requires_grad]

    def step(batch: dict) -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            loss = F.cross_entropy(model(batch["input_ids"], batch["lengths"]), batch["label"])
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params, clip)
        if optimizer_seconds is None:
            optimizer.step()
            return
        synchronize(device)
        start = time.perf_counter()
        optimizer.step()
        synchronize(device)
        optimizer_seconds.append(time.perf_counter() - start)

    return step


def timed_round(step: Callable[[dict], None], batches: list[dict], device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    synchronize(device)
    return time.perf_counter() - start


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"cpu: {cpu or 'unknown'} ({torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()})"
