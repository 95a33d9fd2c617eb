"""Per-summarizer step times and the ratios between them (``summarizers.<name>.*``,
``avg_ch_over_lstm_hc``, ``bf16_over_fp32``): every summarizer's full model on the same training
batches, the models (and, with ``--bf16-ratio``, each model's bf16-autocast step) taking turns round
by round so that drift on a shared machine hits all of them alike."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from src.bench.config import compose, model_overrides
from src.bench.ratios import ci_width, paired_ratio
from src.bench.timing import build_model, make_step, timed_round, to_device

RATIO_PAIRS = {"avg_ch_over_lstm_hc": ("avg_ch", "lstm_hc")}
BF16 = "@bf16"  # suffix of a summarizer's bf16-autocast step among the turns (``bf16_over_fp32``)


def training_batches(datamodule, count: int, device) -> list[dict]:
    """The first ``count`` training batches, on the device: every model steps on these."""
    batches = []
    for batch in datamodule.train_dataloader():
        batches.append(to_device(batch, device))
        if len(batches) == count:
            break
    return batches


def take_turns(steps: dict[str, Callable], batches: list[dict], device, warmup: int, rounds: int) -> dict:
    """{name: seconds of each timed round}; the order rotates each round."""
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            timed_round(steps[name], batches, device)
    seconds = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(timed_round(steps[name], batches, device))
    return seconds


def narrow_ratio(pair: tuple[str, str], steps: dict, seconds: dict, batches, device, args) -> dict:
    """The pair's paired ratio, its two models taking more turns (appended to ``seconds``), up to
    ``--max-rounds``, until its 95% interval is ``--ci-width`` wide."""
    ratio = paired_ratio(*(seconds[name] for name in pair))
    while ci_width(ratio) > args.ci_width and ratio["pairs"] < args.max_rounds:
        for name in pair if ratio["pairs"] % 2 else pair[::-1]:
            seconds[name].append(timed_round(steps[name], batches, device))
        ratio = paired_ratio(*(seconds[name][: min(map(len, (seconds[n] for n in pair)))] for name in pair))
    return ratio


def summarizer_row(values: list[float], model, batches, device, precision: str, tokens: int) -> dict:
    """One summarizer's row from its rounds' seconds; a few more rounds time the optimizer's step alone."""
    median = statistics.median(values)
    optimizer_seconds: list[float] = []
    module, optimizer, clip = model
    timed = make_step(module, optimizer, clip, device, precision, optimizer_seconds)
    for _ in range(3):
        timed_round(timed, batches, device)
    optimizer_ms = 1e3 * statistics.median(optimizer_seconds)
    return {
        "step_ms": 1e3 * median / len(batches),
        "tokens_per_s": tokens / median,
        "optimizer_ms": optimizer_ms,
        "optimizer_share": optimizer_ms / (1e3 * median / len(batches)),
        "rounds_ms": [1e3 * v / len(batches) for v in values],
    }


def measure_summarizers(args, datamodule, device, workdir: Path) -> tuple[dict, dict, list[dict], dict]:
    """Rows of every summarizer (``summarizer_row``), their configs, the timed batches, and the
    ratios of ``RATIO_PAIRS``."""
    batches = training_batches(datamodule, args.batches, device)
    tokens = sum(int(b["lengths"].sum()) for b in batches)
    steps, models, cfgs = {}, {}, {}
    for name in args.summarizers:
        cfg = compose(model_overrides(args, name, device), workdir)
        model, optimizer = build_model(cfg, datamodule, device)
        clip = cfg.trainer.get("gradient_clip_val")
        steps[name] = make_step(model, optimizer, clip, device, args.precision)
        if args.bf16_ratio:  # the same model's step under bf16 autocast, in the same rounds
            steps[name + BF16] = make_step(model, optimizer, clip, device, "bf16")
        models[name], cfgs[name] = (model, optimizer, clip), cfg
    seconds = take_turns(steps, batches, device, args.warmup, args.rounds)
    ratios = {
        key: narrow_ratio(pair, steps, seconds, batches, device, args)
        for key, pair in RATIO_PAIRS.items()
        if set(pair) <= set(args.summarizers)
    }
    rows = {
        name: summarizer_row(values, models[name], batches, device, args.precision, tokens)
        for name, values in seconds.items()
        if not name.endswith(BF16)
    }
    for name in rows if args.bf16_ratio else ():
        pairs = len(seconds[name + BF16])  # the fp32 step may have had extra turns for RATIO_PAIRS
        ratio = paired_ratio(seconds[name + BF16], seconds[name][:pairs])
        rows[name].update(bf16_step_ms=1e3 * statistics.median(seconds[name + BF16]) / len(batches))
        rows[name].update(bf16_over_fp32=ratio["ratio"], bf16_over_fp32_ci95=ratio["ci95"])
    return rows, cfgs, batches, ratios


def summarizer_results(rows: dict, batches: list[dict], ratios: dict, rounds: int) -> dict:
    """The results' keys for the step times (``summarizers``, ``step_ms_per_round``, ...) and each ratio."""
    out = {
        "summarizers": {k: {key: v[key] for key in v if key != "rounds_ms"} for k, v in rows.items()},
        "step_ms_per_round": {k: v["rounds_ms"] for k, v in rows.items()},
        "timed_batches": len(batches),
        "timed_tokens": sum(int(b["lengths"].sum()) for b in batches),
        "rounds": rounds,
        "mean_padded_length": statistics.mean(b["input_ids"].shape[1] for b in batches),
    }
    for key, ratio in ratios.items():
        out.update({key: ratio["ratio"], f"{key}_ci95": ratio["ci95"], f"{key}_pairs": ratio["pairs"]})
    if any("bf16_over_fp32" in row for row in rows.values()):
        out["bf16_over_fp32"] = {k: v["bf16_over_fp32"] for k, v in rows.items()}
    return out
