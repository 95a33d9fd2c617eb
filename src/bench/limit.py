"""``lstm_gflops`` against the device's limit: the lstm_h summarizer's achieved matmul FLOP/s in
training, the ceiling of the same products on this device (``src/bench/ceiling.py``), and their ratio."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

import torch

from src.bench.ceiling import ceiling
from src.bench.timing import autocast, build_model, timed_round


def lstm_matmul_flops(batches: Iterable[dict], input_dim: int, hidden: int) -> float:
    """Matmul FLOPs of one LSTM layer's forward + backward over these padded batches: forward
    2*B*T*4H*(E+H) (input and recurrent products), backward twice that (input/state gradients and
    weight gradients)."""
    slots = sum(b["input_ids"].numel() for b in batches)
    return 3 * 2 * slots * 4 * hidden * (input_dim + hidden)


def measure_lstm_gflops(args, cfg, datamodule, batches: list[dict], device) -> float:
    """Achieved matmul FLOP/s of the lstm_h summarizer's forward + backward in training (the
    embedding's output as input, gradients for it and the weights), on the same batches; the best
    round, as the ceiling's routes are timed (src/bench/ceiling.py)."""
    model, _ = build_model(cfg, datamodule, device)
    summarizer = model.summarizer
    inputs = []
    with torch.no_grad():
        for batch in batches:
            inputs.append((model.embedding(batch["input_ids"]), batch["lengths"]))

    def step(item) -> None:
        x, lengths = item
        x = x.detach().requires_grad_(True)
        with autocast(device, args.precision):
            out = summarizer(x, lengths)
        out.float().sum().backward()

    for _ in range(max(1, args.warmup)):
        timed_round(step, inputs, device)
    seconds = min(timed_round(step, inputs, device) for _ in range(args.rounds))
    flops = lstm_matmul_flops(batches, summarizer.input_dim, summarizer.hidden_size)
    return flops / seconds / 1e9


def lstm_gemm_shapes(batches: list[dict], input_dim: int, hidden: int) -> dict[str, tuple[int, int, int]]:
    """The LSTM's own matrix products at these batches' mean padded size, as (rows, in, out): the
    input projection over every step, one step's gates (input and state together), and the weight
    gradient of the input projection."""
    b = round(statistics.mean(x["input_ids"].shape[0] for x in batches))
    t = round(statistics.mean(x["input_ids"].shape[1] for x in batches))
    return {
        "input_projection": (b * t, input_dim, 4 * hidden),
        "step_gates": (b, input_dim + hidden, 4 * hidden),
        "weight_gradient": (4 * hidden, b * t, input_dim),
    }


def measure_limit(args, lstm_cfg, datamodule, batches: list[dict], device) -> dict:
    """``lstm_gflops``, the ceiling's keys (``limit_gflops``, ``limit_source``, ...) and ``lstm_over_limit``."""
    out = {"lstm_gflops": measure_lstm_gflops(args, lstm_cfg, datamodule, batches, device)}
    hidden = lstm_cfg.summarizer.hidden_size
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    limit = ceiling(device, dtype, lstm_gemm_shapes(batches, args.embedding_dim, hidden))
    out.update(limit)
    out["lstm_over_limit"] = out["lstm_gflops"] / limit["limit_gflops"]
    return out
