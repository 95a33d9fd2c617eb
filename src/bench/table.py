"""The benchmark's results as JSON (finite numbers, 6 significant digits) and as the console table."""

from __future__ import annotations

import math

from src.bench.ratios import TARGETS


def finite(value):
    """The value with every float to 6 significant digits, and NaN or infinity as None (JSON has neither)."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None  # 6 significant digits
    return value


def format_table(results: dict) -> str:
    cpu = results.get("cpu") or {}
    bf16 = "bf16_over_fp32" in results
    lines = [
        f"device: {results['device']}   torch {results['torch']}   precision {results['precision']}",
        f"cpu: {cpu.get('model')}, {cpu.get('cores')} cores, native bf16: "
        f"{', '.join(cpu.get('bf16_flags') or []) or 'no'}, AMX: {', '.join(cpu.get('amx_flags') or []) or 'no'}",
        f"data: {results['data']}, {results['timed_batches']} training batches of {results['batch_size']} "
        f"(mean padded length {results['mean_padded_length']:.1f}), median of {results['rounds']} rounds",
        "",
        f"{'summarizer':<12}{'step_ms':>10}{'tokens_per_s':>14}{'optimizer_ms':>14}{'share':>8}"
        + (f"{'bf16_ms':>10}{'bf16/fp32':>11}" if bf16 else ""),
    ]
    for name, row in results["summarizers"].items():
        lines.append(
            f"{name:<12}{row['step_ms']:>10.1f}{row['tokens_per_s']:>14.0f}"
            f"{row['optimizer_ms']:>14.1f}{100 * row['optimizer_share']:>7.0f}%"
            + (f"{row['bf16_step_ms']:>10.1f}{row['bf16_over_fp32']:>11.3f}" if bf16 else "")
        )
    lines.append("")
    targets = results.get("targets_met", {})
    shown = [
        "avg_ch_over_lstm_hc",
        "lightning_over_plain",
        "lightning_epoch_s",
        "plain_epoch_s",
        "padding_efficiency_bucketed",
        "padding_efficiency_random",
        "lstm_gflops",
        "limit_gflops",
        "lstm_over_limit",
        "train_startup_s",
        "import_s",
    ]
    for key in shown:
        value = results.get(key)
        if value is None:
            continue
        note = ""
        if results.get(f"{key}_ci95"):
            low, high = results[f"{key}_ci95"]
            note += f"  95% CI [{low:.3f}, {high:.3f}] over {results[f'{key}_pairs']} pairs"
        if results.get(f"{key}_ci95_narrow") is False:
            note += f" (wider than the {results['ci_width']} asked for: --max-rounds reached)"
        if key == "limit_gflops":
            note += f"  bounded by {results['limit_source']}"
        if key in TARGETS:
            op, bound = TARGETS[key]
            note += f"  target {op} {bound}: {'met' if targets.get(key) else 'MISSED'}"
        lines.append(f"{key:<30}{value:>10.3f}{note}")
    return "\n".join(lines)
