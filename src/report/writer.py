"""``write_report``: report.md, results.csv, summary.csv and the plots of one sweep dir."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from src.report.loading import load_jobs, load_predictions, load_val_curves
from src.report.plots import plot_accuracy, plot_efficiency, plot_length_buckets, plot_val_curves
from src.report.stats import ALPHA, BOOTSTRAP_RESAMPLES, CONFIDENCE, length_buckets, summarize
from src.report.tables import _num, buckets_table, jobs_table, summary_table


def write_report(sweep_dir: str | Path, plots: bool = True) -> str:
    """Writes report.md, results.csv, summary.csv and the PNGs into ``sweep_dir``; returns report.md."""
    sweep_dir = Path(sweep_dir)
    jobs = load_jobs(sweep_dir)
    lines = [f"# Sweep `{sweep_dir.name}`", ""]
    if jobs.empty:
        text = "\n".join(lines + ["No jobs found (no subdir with results.json or .hydra/).", ""])
        (sweep_dir / "report.md").write_text(text)
        return text
    for column in ("status", "error", "seed"):
        if column not in jobs:
            jobs[column] = None
    jobs.to_csv(sweep_dir / "results.csv", index=False)
    predictions = load_predictions(sweep_dir, jobs)
    summary = summarize(jobs, predictions)
    failed = jobs[jobs["status"] != "ok"]
    ok = jobs[jobs["status"] == "ok"]
    data = ", ".join(sorted(set(map(str, ok.get("data", pd.Series(dtype=str)).dropna())))) or "–"
    lines += [f"Data: **{data}**. Jobs: {len(jobs)} ({len(ok)} ok, {len(failed)} failed). "
              f"Seeds: {', '.join(map(str, sorted(set(ok['seed'].dropna().astype(int))))) or '–'}.", ""]

    if not summary.empty:
        summary.to_csv(sweep_dir / "summary.csv", index=False)
        variants = summary["variant"].tolist()
        buckets = length_buckets(predictions)
        lines += ["## Test accuracy", "", summary_table(summary),
                  f"Mean over seeds ± half-width of the {CONFIDENCE:.0%} t-interval (none with one seed). "
                  "*Order sensitivity*: test accuracy minus accuracy on the same test set with each "
                  "sentence's words shuffled (fixed seed), in percentage points. *Δ vs best*: accuracy "
                  "difference to the best summarizer (bold), paired over seeds (paired t-test) when both "
                  "have ≥ 2 common seeds, else over test examples (paired bootstrap, "
                  f"{BOOTSTRAP_RESAMPLES:,} resamples); **\\*** marks p < {ALPHA} (no correction for "
                  "multiple comparisons). train s and tokens/s are per job, averaged over seeds.", ""]
        if plots:
            plot_accuracy(summary, jobs, predictions, sweep_dir / "accuracy.png")
            lines += ["![test accuracy](accuracy.png)", ""]
        if not buckets.empty:
            lines += ["## Accuracy by input length", "", buckets_table(buckets, variants),
                      "Test examples of all seeds pooled; buckets are length quantiles.", ""]
            if plots:
                plot_length_buckets(buckets, variants, sweep_dir / "length_buckets.png")
                lines += ["![accuracy by length](length_buckets.png)", ""]
        curves = load_val_curves(sweep_dir, jobs)
        if plots and not curves.empty:
            plot_val_curves(curves, variants, sweep_dir / "val_curves.png")
            lines += ["## Validation curves", "", "![validation accuracy](val_curves.png)", ""]
        if plots:
            plot_efficiency(summary, sweep_dir / "efficiency.png")
            lines += ["## Accuracy against size and speed", "", "![efficiency](efficiency.png)", ""]
        lines += ["## Jobs", "", jobs_table(jobs)]
    optuna = sweep_dir / "optimization_results.yaml"
    if optuna.is_file():
        lines += ["## Optuna", "", "```yaml", optuna.read_text().strip(), "```", ""]
    if not failed.empty:
        lines += ["## Failed jobs", ""] + [f"- `{j['job']}` ({j.get('summarizer')}, seed {_num(j.get('seed'))}): "
                                           f"{j.get('error') or 'unknown error'}" for j in failed.to_dict("records")]
        lines.append("")
    text = "\n".join(lines)
    (sweep_dir / "report.md").write_text(text)
    return text


