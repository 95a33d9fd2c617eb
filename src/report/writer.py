"""``write_report``: report.md, results.csv, summary.csv and the plots of one sweep dir."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from src.report.benchmark import is_benchmark, replicates_label
from src.report.benchmark_report import benchmark_sections
from src.report.equivalence import ROPE_POINTS
from src.report.loading import load_jobs, load_predictions
from src.report.metrics import add_scores, majority_row
from src.report.sections import dataset_sections, failed_jobs_section, job_counts, seeds_text
from src.report.stats import summarize


def write_report(sweep_dir: str | Path, plots: bool = True, rope: float = ROPE_POINTS) -> str:
    """Writes report.md, results.csv, summary.csv and the PNGs into ``sweep_dir``; returns report.md.
    A sweep over several datasets gets the cross-dataset report (``benchmark_report``) instead, with
    the Bayesian comparison's region of practical equivalence ``rope`` (points)."""
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
    jobs = add_scores(jobs)
    jobs.to_csv(sweep_dir / "results.csv", index=False)
    predictions = load_predictions(sweep_dir, jobs)
    several_datasets = is_benchmark(jobs)
    if several_datasets:
        lines += benchmark_sections(sweep_dir, jobs, predictions, plots, rope=rope)
    else:
        summary = summarize(jobs, predictions)
        ok = jobs[jobs["status"] == "ok"]
        data = ", ".join(sorted(set(map(str, ok.get("data", pd.Series(dtype=str)).dropna())))) or "–"
        lines += [
            f"Data: **{data}**. Jobs: {job_counts(jobs)}. Seeds: {seeds_text(ok)}.",
            "",
        ]
        if not summary.empty:
            summary.to_csv(sweep_dir / "summary.csv", index=False)
            majority = majority_row(jobs, predictions, summary["metric"].iloc[0])
            lines += dataset_sections(
                sweep_dir, jobs, predictions, summary, plots, replicates=replicates_label(jobs), majority=majority
            )
    optuna = sweep_dir / "optimization_results.yaml"
    if optuna.is_file():
        lines += ["## Optuna", "", "```yaml", optuna.read_text().strip(), "```", ""]
    lines += failed_jobs_section(jobs[jobs["status"] != "ok"], with_dataset=several_datasets)
    text = "\n".join(lines)
    (sweep_dir / "report.md").write_text(text)
    return text
