"""The scale bench's targets and its Markdown summary (``src.bench.scale``), from its results."""

from __future__ import annotations

TARGETS = {
    "slope_bytes_per_token": ("<=", 25.0),
    "encoder_ratio": (">=", 0.7),
    "loader_ratio": ("<=", 1.1),
    "loader_epoch_ratio": ("<=", 1.1),
}


def check_targets(results: dict) -> dict:
    values = {
        "slope_bytes_per_token": results["fit"]["slope_bytes_per_token"],
        "encoder_ratio": results["encoder"]["ratio"],
        "loader_ratio": results["loader"]["ratio"],
    }
    if "loader_epoch" in results:
        values["loader_epoch_ratio"] = results["loader_epoch"]["ratio"]
    return {
        name: {
            "value": values[name],
            "target": f"{op} {bound}",
            "met": bool(values[name] <= bound if op == "<=" else values[name] >= bound),
        }
        for name, (op, bound) in TARGETS.items()
        if name in values
    }


def format_table(results: dict) -> str:
    lines = [
        "| documents | tokens | cold s | cold peak MB | cached s | cached peak MB | bytes/token (cold peak) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["sizes"]:
        lines.append(
            f"| {s['docs']:,} | {s['tokens']:,} | {s['cold']['seconds']:.1f} | {s['cold']['peak_rss_mb']:,.0f} | "
            f"{s['cached']['seconds']:.2f} | {s['cached']['peak_rss_mb']:,.0f} | {s['bytes_per_token']:.1f} |"
        )
    fit, encoder, loader = results["fit"], results["encoder"], results["loader"]
    lines += [
        "",
        f"- cold peak = {fit['fixed_mb']:,.0f} MB + {fit['slope_bytes_per_token']:.1f} B x tokens (least squares)",
        f"- encoder: {encoder['encode_flat_tokens_per_s']:,} tokens/s against encode_batch's "
        f"{encoder['encode_batch_tokens_per_s']:,} on {encoder['docs']:,} documents: ratio {encoder['ratio']:.2f}",
        f"- loader ({loader['docs']:,} documents, batch {loader['batch_size']}): {loader['load_ms']:.2f} ms a batch "
        f"against an lstm_h step of {loader['step_ms']:.1f} ms: (step + load) / step = {loader['ratio']:.3f}",
    ]
    if "loader_epoch" in results:
        epoch = results["loader_epoch"]
        lines.append(
            f"- one whole lstm_h epoch ({epoch['epoch_batches']:,} batches): {epoch['epoch_s']:,.1f} s against "
            f"{epoch['steps_alone_s']:,.1f} s of steps alone (loading {epoch['load_s']:.2f} s): "
            f"ratio {epoch['ratio']:.3f}"
        )
    lines += [
        f"- target {name} {t['target']}: {t['value']} ({'met' if t['met'] else 'NOT met'})"
        for name, t in results["targets"].items()
    ]
    return "\n".join(lines)
