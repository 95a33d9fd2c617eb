"""The report's figures (matplotlib, imported lazily; every figure is closed once written)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PLOTS = ("accuracy.png", "val_curves.png", "length_buckets.png", "efficiency.png")


def _colors(variants: list[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {v: cmap(i % 10) for i, v in enumerate(variants)}


def _on(dataset: str | None) -> str:
    """' on mr' in a per-dataset plot's title (a benchmark's), nothing in a single-dataset sweep's."""
    return f" on {dataset}" if dataset else ""


def _save(fig, path: Path, rect=(0, 0, 1, 1)) -> None:
    """Lay out, write and close (figures left open pile up across a long sweep's reports)."""
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_accuracy(summary: pd.DataFrame, jobs: pd.DataFrame, predictions: pd.DataFrame, path: Path) -> None:
    """Point-and-interval plot: test accuracy (seeds as dots), subsets and shuffled words."""
    import matplotlib.pyplot as plt

    # (column, legend label, marker, colour): the probe always grey, subsets in their own colours
    metrics = [("test_acc", "whole test set (mean, 95% CI)", "o", "#1f77b4")]
    subsets = [c for c in summary.columns if c.startswith("acc_") and not c.endswith("_ci") and c != "acc_shuffled"]
    metrics += [
        (c, c.replace("acc_", "") + " subset", m, k)
        for c, m, k in zip(subsets, "s^vP*", ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"])
    ]
    if "acc_shuffled" in summary:
        metrics.append(("acc_shuffled", "words shuffled (order probe)", "D", "#7f7f7f"))
    x = np.arange(len(summary))
    width = min(0.8 / len(metrics), 0.25)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * len(summary) + 2), 4.8))
    for i, (column, label, marker, color) in enumerate(metrics):
        offset = (i - (len(metrics) - 1) / 2) * width
        ci = summary.get(f"{column}_ci", pd.Series(np.nan, index=summary.index)).fillna(0) * 100
        ax.errorbar(
            x + offset, summary[column] * 100, yerr=ci, fmt=marker, color=color, capsize=3, markersize=6, label=label
        )
    ok = jobs[jobs["status"] == "ok"]
    for xi, variant in zip(x, summary["variant"]):
        seeds = ok.loc[ok["variant"] == variant, "test/acc"] * 100
        ax.scatter(
            np.full(len(seeds), xi - (len(metrics) - 1) / 2 * width - 0.08),
            seeds,
            s=12,
            color="#1f77b4",
            alpha=0.5,
            label="single seeds" if xi == 0 else None,
        )
    if not predictions.empty:
        majority = predictions.groupby(["job"])["label"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
        ax.axhline(majority.mean() * 100, color="black", linestyle=":", linewidth=1, label="majority class")
    ax.set_xticks(
        x,
        summary["variant"],
        rotation=20 if summary["variant"].str.len().max() > 8 else 0,
        ha="right" if summary["variant"].str.len().max() > 8 else "center",
    )
    ax.set_xlabel("summarizer")
    ax.set_ylabel("test accuracy (%)")
    data = ", ".join(sorted(set(map(str, jobs.get("data", pd.Series(dtype=str)).dropna()))))
    ax.set_title(
        f"Test accuracy per summarizer{' on ' + data if data else ''} "
        f"({int(summary['seeds'].max())} seed{'s' if summary['seeds'].max() > 1 else ''})"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(3, len(metrics) + 2), fontsize=9, frameon=False)
    _save(fig, path)


def finish_line_plot(ax, xlabel: str, ylabel: str, title: str) -> None:
    """Labels, a light grid and the legend outside the axes on the right (one line per summarizer)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def plot_val_curves(curves: pd.DataFrame, variants: list[str], path: Path, dataset: str | None = None) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    colors = _colors(variants)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for variant in variants:
        group = curves[curves["variant"] == variant]
        if group.empty:
            continue
        stats = group.groupby("epoch")["val/acc"].agg(["mean", "min", "max"])
        epochs = stats.index + 1
        ax.plot(epochs, stats["mean"] * 100, marker=".", color=colors[variant], label=variant)
        ax.fill_between(epochs, stats["min"] * 100, stats["max"] * 100, color=colors[variant], alpha=0.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    finish_line_plot(
        ax,
        "epoch",
        "validation accuracy (%)",
        f"Validation accuracy{_on(dataset)} (mean over seeds still training; band: min-max)",
    )
    _save(fig, path)


def plot_length_buckets(
    buckets: pd.DataFrame, variants: list[str], path: Path, dataset: str | None = None, column: str = "length"
) -> None:
    """One line per summarizer over the length buckets; ``column``: ``length`` (tokens read) or
    ``full_length`` (the document's tokens before truncation)."""
    import matplotlib.pyplot as plt

    colors = _colors(variants)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    labels = (
        list(buckets["bucket"].cat.categories)
        if hasattr(buckets["bucket"], "cat")
        else list(dict.fromkeys(buckets["bucket"]))
    )
    for variant in variants:
        group = buckets[buckets["variant"] == variant].set_index("bucket").reindex(labels)
        ax.plot(range(len(labels)), group["accuracy"] * 100, marker="o", color=colors[variant], label=variant)
    counts = buckets.groupby("bucket", observed=True)["examples"].max().reindex(labels)
    ax.set_xticks(range(len(labels)), [f"{b}\n(n={int(c)})" for b, c in zip(labels, counts)])
    finish_line_plot(
        ax,
        ("document length before truncation" if column == "full_length" else "input length")
        + " (tokens; n = test examples per summarizer, all seeds)",
        "test accuracy (%)",
        f"Test accuracy by input length{_on(dataset)}",
    )
    _save(fig, path)


def plot_efficiency(summary: pd.DataFrame, path: Path, dataset: str | None = None) -> None:
    """Accuracy against trainable parameters and against training throughput (log x when the
    values span more than a factor of 10)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    colors = _colors(summary["variant"].tolist())
    markers = "osD^vP*X<>"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, column, label in [
        (axes[0], "params", "trainable parameters"),
        (axes[1], "tokens_per_second", "training throughput (real tokens / s)"),
    ]:
        values = []
        for i, row in enumerate(summary.itertuples()):
            value = getattr(row, column, math.nan)
            if value is None or pd.isna(value) or value <= 0:
                continue
            values.append(value)
            ci = 0 if pd.isna(row.test_acc_ci) else row.test_acc_ci * 100
            ax.errorbar(
                value,
                row.test_acc * 100,
                yerr=ci,
                fmt=markers[i % len(markers)],
                capsize=3,
                markersize=7,
                color=colors[row.variant],
                label=row.variant,
            )
        if values and max(values) / min(values) > 10:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
            label += " (log scale)"
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%, mean and 95% CI)")
    axes[0].set_title(f"Accuracy vs size{_on(dataset)}")
    axes[1].set_title(f"Accuracy vs speed{_on(dataset)}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.86, 0.5), fontsize=9, frameon=False)
    _save(fig, path, rect=(0, 0, 0.86, 1))
