"""The pieces of report.md that a single-dataset sweep and each dataset of a benchmark share: one
dataset's sections (summary table, accuracy by length, curves, efficiency, jobs), the job counts,
the seeds and the failed jobs. Their own module so that ``writer`` and ``benchmark_report`` both
import them and neither imports the other."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from src.report.lengths import length_caption, length_column
from src.report.loading import load_val_curves
from src.report.memory import memory_section
from src.report.metrics import DEFAULT_METRIC, LABELS, MAJORITY_FROM_TRAIN
from src.report.plots import plot_accuracy, plot_efficiency, plot_length_buckets, plot_val_curves
from src.report.stats import ALPHA, BOOTSTRAP_RESAMPLES, CONFIDENCE, length_buckets
from src.report.tables import _num, buckets_table, jobs_table, summary_table


def dataset_sections(
    sweep_dir: Path,
    jobs: pd.DataFrame,
    predictions: pd.DataFrame,
    summary: pd.DataFrame,
    plots: bool = True,
    level: str = "##",
    suffix: str = "",
    replicates: str = "seeds",
    dataset: str | None = None,
    majority: dict | None = None,
) -> list[str]:
    """The report of one dataset's jobs: the summary table (with the majority-class row when known),
    accuracy by length, validation curves, size and speed, the jobs. Plots are named
    ``<plot><suffix>.png`` (``accuracy.png`` for a single-dataset sweep, ``accuracy_mr.png`` for MR in
    a benchmark)."""
    variants = summary["variant"].tolist()
    buckets = length_buckets(predictions)
    runs = "seeds" if replicates == "seeds" else f"{replicates} (each a replicate)"
    metric = summary["metric"].iloc[0] if "metric" in summary else DEFAULT_METRIC
    judged = (
        "accuracy"
        if metric == DEFAULT_METRIC
        else f"{LABELS[metric]} (this dataset's metric, first column; the ranking, bold and Δ use it)"
    )
    lines = [
        f"{level} Test {LABELS[metric]}" if metric != DEFAULT_METRIC else f"{level} Test accuracy",
        "",
        summary_table(summary, runs_header="seeds" if replicates == "seeds" else "seed×fold runs", majority=majority),
        f"Judged by {judged}. Mean over {runs} ± half-width of the {CONFIDENCE:.0%} t-interval (none with one "
        "seed). *Order sensitivity*: test accuracy minus accuracy on the same test set with each "
        "sentence's words shuffled (fixed seed), in percentage points. *Δ vs best*: difference to the best "
        f"summarizer (bold), paired over {replicates} (paired t-test) when both have ≥ 2 common {replicates}, "
        "else over test examples (paired bootstrap, "
        f"{BOOTSTRAP_RESAMPLES:,} resamples; accuracy only); **\\*** marks p < {ALPHA} (no correction for "
        f"multiple comparisons). train s and tokens/s are per job, averaged over {replicates}."
        + (f" {majority_note(majority)}" if majority else ""),
        "",
    ]
    if plots:
        plot_accuracy(summary, jobs, predictions, sweep_dir / f"accuracy{suffix}.png")
        lines += [f"![test accuracy](accuracy{suffix}.png)", ""]
    if not buckets.empty:
        lines += [
            f"{level} Accuracy by input length",
            "",
            buckets_table(buckets, variants),
            f"Test examples of all {replicates} pooled; buckets are length quantiles. "
            + length_caption(predictions, jobs),
            "",
        ]
        if plots:
            plot_length_buckets(
                buckets, variants, sweep_dir / f"length_buckets{suffix}.png", dataset, length_column(predictions)
            )
            lines += [f"![accuracy by length](length_buckets{suffix}.png)", ""]
    # data whose examples record the distance to the deciding word (the built-in set): how far back each remembers
    lines += memory_section(sweep_dir, predictions, variants, plots, level, suffix, replicates, dataset)
    curves = load_val_curves(sweep_dir, jobs)
    if plots and not curves.empty:
        plot_val_curves(curves, variants, sweep_dir / f"val_curves{suffix}.png", dataset)
        lines += [f"{level} Validation curves", "", f"![validation accuracy](val_curves{suffix}.png)", ""]
    if plots:
        plot_efficiency(summary, sweep_dir / f"efficiency{suffix}.png", dataset)
        lines += [f"{level} Accuracy against size and speed", "", f"![efficiency](efficiency{suffix}.png)", ""]
    lines += [f"{level} Jobs", "", jobs_table(jobs)]
    return lines


def majority_note(majority: dict) -> str:
    """What the majority-class row is, and where its number comes from."""
    if majority["source"] == MAJORITY_FROM_TRAIN:
        return "*Majority class*: always answering the train split's most frequent class, scored on the test split."
    return (
        "*Majority class* †: always answering the test split's most frequent class (the runs did not record the "
        "train split's), from predictions.csv: an upper bound of the train-majority score."
    )


def job_counts(jobs: pd.DataFrame) -> str:
    """ "12 (10 ok, 1 failed, 1 interrupted)": an interrupted job (Ctrl-C, SIGTERM) is no result and
    no failure either; it resumes from its last.ckpt."""
    status = jobs["status"].fillna("failed")
    counts = [f"{(status == 'ok').sum()} ok", f"{(~status.isin(['ok', 'interrupted'])).sum()} failed"]
    if (status == "interrupted").any():
        counts.append(f"{(status == 'interrupted').sum()} interrupted")
    return f"{len(jobs)} ({', '.join(counts)})"


def seeds_text(ok: pd.DataFrame) -> str:
    """ "0, 1, 2": the seeds of the successful jobs."""
    return ", ".join(map(str, sorted(set(ok["seed"].dropna().astype(int))))) or "–"


def failed_jobs_section(failed: pd.DataFrame, with_dataset: bool = False) -> list[str]:
    if failed.empty:
        return []

    def where(j: dict) -> str:
        data = j.get("data")
        return f"{data}, " if with_dataset and data is not None and not pd.isna(data) else ""

    def what(j: dict) -> str:
        prefix = "interrupted: " if j.get("status") == "interrupted" else ""
        return prefix + (j.get("error") or "unknown error")

    return (
        ["## Failed or interrupted jobs", ""]
        + [
            f"- `{j['job']}` ({j.get('summarizer')}, {where(j)}seed {_num(j.get('seed'))}): {what(j)}"
            for j in failed.to_dict("records")
        ]
        + [""]
    )
