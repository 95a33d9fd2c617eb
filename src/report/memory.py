"""How far back each summarizer remembers: accuracy against the distance of the deciding word.

The built-in data's twin pairs (same words, opposite labels) record ``distance``, the tokens after
the deciding adjective (``src.data.synthetic``); it reaches each job's ``predictions.csv`` (-1 where
undefined). For data that has it, the single-dataset report gets accuracy on those examples in
distance bins, one line per summarizer (``memory.png``) and a table. Data without the column gets
no section, so its report is unchanged.

Bins: the distinct distances are split where they jump (a gap of more than max(3, a quarter of the
smaller value): the built-in data's clause-final deciding words at 1, the concessions at 7-9 and
the long-range pairs at 20-50 or 100-180 are separate groups), and each group wider than about 10
tokens is cut into equal-width bins of ~10 tokens or more, at most 4 per group.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

DISTANCE = "distance"
MAX_BINS_PER_GROUP = 4


def distance_bins(distances) -> list[tuple[int, int]]:
    """Inclusive ``(low, high)`` bins covering every distance (see the module doc)."""
    distinct = np.unique(np.asarray(distances, dtype=int))
    if len(distinct) == 0:
        return []
    groups = [[int(distinct[0])]]
    for previous, value in zip(distinct[:-1], distinct[1:]):
        if value - previous > max(3, 0.25 * previous):
            groups.append([int(value)])
        else:
            groups[-1].append(int(value))
    bins = []
    for group in groups:
        low, high = group[0], group[-1]
        count = min(MAX_BINS_PER_GROUP, max(1, round((high - low) / 10)))
        edges = [low + math.ceil(k * (high - low + 1) / count) for k in range(count + 1)]
        bins += [(a, b - 1) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    return bins


def _bin_label(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def _distances(predictions: pd.DataFrame) -> np.ndarray:
    """The distance column as floats, -1 where missing (NaN in a sweep whose other data lacks it)."""
    return np.nan_to_num(pd.to_numeric(predictions[DISTANCE], errors="coerce").to_numpy(dtype=float), nan=-1.0)


def memory_curve(predictions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per variant and distance bin over the test examples that have a distance (>= 0),
    all seeds pooled: columns variant, bin (ordered categories), accuracy, examples. Empty when no
    prediction has a distance."""
    if predictions.empty or DISTANCE not in predictions:
        return pd.DataFrame()
    distance = _distances(predictions)
    keep = distance >= 0
    rows = predictions[keep].assign(**{DISTANCE: distance[keep].astype(int)})
    if rows.empty:
        return pd.DataFrame()
    bins = distance_bins(rows[DISTANCE])
    labels = [_bin_label(lo, hi) for lo, hi in bins]
    edges = pd.IntervalIndex.from_tuples([(lo - 0.5, hi + 0.5) for lo, hi in bins], closed="right")
    binned = pd.cut(rows[DISTANCE], edges)
    binned = binned.cat.rename_categories(labels)
    return (
        rows.assign(bin=binned)
        .groupby(["variant", "bin"], observed=True)["correct"]
        .agg(accuracy="mean", examples="size")
        .reset_index()
    )


def memory_table(curve: pd.DataFrame, variants: list[str]) -> str:
    from src.report.tables import buckets_table

    present = [b for b in curve["bin"].cat.categories if b in set(curve["bin"].astype(str))]
    return buckets_table(curve, variants, column="bin", labels=present)


def plot_memory(
    curve: pd.DataFrame, variants: list[str], path: Path, dataset: str | None = None, chance: float | None = 0.5
) -> None:
    import matplotlib.pyplot as plt

    from src.report.plots import _colors, _on, _save, finish_line_plot

    colors = _colors(variants)
    labels = [b for b in curve["bin"].cat.categories if b in set(curve["bin"].astype(str))]
    fig, ax = plt.subplots(figsize=(max(7.5, 1.1 * len(labels) + 3), 4.5))
    for variant in variants:
        group = curve[curve["variant"] == variant].assign(bin=lambda f: f["bin"].astype(str)).set_index("bin")
        group = group.reindex(labels)
        ax.plot(range(len(labels)), group["accuracy"] * 100, marker="o", color=colors[variant], label=variant)
    if chance is not None:
        ax.axhline(chance * 100, color="black", linestyle=":", linewidth=1, label="chance (50%)")
    counts = curve.assign(bin=curve["bin"].astype(str)).groupby("bin")["examples"].max().reindex(labels)
    ax.set_xticks(range(len(labels)), [f"{b}\n(n={int(c)})" for b, c in zip(labels, counts)])
    ax.set_ylim(min(40.0, float(np.nanmin(curve["accuracy"])) * 100 - 5), 102)
    finish_line_plot(
        ax,
        "tokens after the deciding word (n = test examples per summarizer, all seeds)",
        "accuracy on the twin pairs (%)",
        f"How far back each summarizer remembers{_on(dataset)}",
    )
    _save(fig, path)


def memory_section(
    sweep_dir: Path,
    predictions: pd.DataFrame,
    variants: list[str],
    plots: bool = True,
    level: str = "##",
    suffix: str = "",
    replicates: str = "seeds",
    dataset: str | None = None,
) -> list[str]:
    """The report's memory section (table and ``memory<suffix>.png``), or [] for data without distances."""
    curve = memory_curve(predictions)
    if curve.empty:
        return []
    present = set(curve["variant"])
    variants = [v for v in variants if v in present]
    labels = predictions["label"][_distances(predictions) >= 0]
    binary = labels.nunique() == 2
    lines = [
        f"{level} Memory: accuracy by distance to the deciding word",
        "",
        memory_table(curve, variants),
        "Test examples that record a distance (the built-in data's twin pairs: the same words with opposite "
        "labels), by the number of tokens after the word that decides the label; "
        f"all {replicates} pooled. "
        + (
            "A bag of words scores exactly 50% on the twin pairs as a whole (both twins get one answer)."
            if binary
            else ""
        ),
        "",
    ]
    if plots:
        plot_memory(curve, variants, sweep_dir / f"memory{suffix}.png", dataset, 0.5 if binary else None)
        lines += [f"![accuracy by distance to the deciding word](memory{suffix}.png)", ""]
    return lines
