"""The cross-dataset figures: ``ranks.png`` (critical-difference diagram of the average ranks,
drawn by scikit-posthocs), ``accuracy_heatmap.png`` (each cell's gap to its dataset's best) and
``equivalence.png`` (the Bayesian comparison's probabilities, ``equivalence``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from src.report.benchmark import Benchmark
from src.report.equivalence import THRESHOLD, Equivalence, probability_matrices
from src.report.loading import is_baseline
from src.report.metrics import LABELS
from src.report.plots import _save

GROUP_COLORS = {"summarizer": "#1f4e79", "n-gram baseline": "#c0504d"}  # the CD diagram's two groups


def plot_rank_diagram(bench: Benchmark, path: Path) -> None:
    """Critical-difference diagram (Demšar 2006, Fig. 1a): average ranks on an axis with rank 1 on
    the right; summarizers the Nemenyi test cannot tell apart are joined by a bar."""
    import matplotlib.pyplot as plt
    import scikit_posthocs as sp

    test = bench.rank_test
    if test is None:
        raise ValueError(f"no rank test to draw: {bench.not_tested}")
    k = test.n_methods
    longest = max(len(str(v)) for v in test.average_ranks.index)
    fig, ax = plt.subplots(figsize=(6.0 + 0.15 * longest, 1.8 + 0.42 * k))
    groups = {v: "n-gram baseline" if is_baseline(v) else "summarizer" for v in test.average_ranks.index}
    hue = {"hue": groups, "color_palette": GROUP_COLORS} if "n-gram baseline" in groups.values() else {}
    sp.critical_difference_diagram(
        test.average_ranks,
        test.nemenyi,
        ax=ax,
        cd=test.cd,
        alpha=test.alpha,
        label_fmt_left="{label} ({rank:.2f})",
        label_fmt_right="({rank:.2f}) {label}",
        label_props={"fontsize": 10},
        **hue,
    )
    ax.set_xlim(0.8, k + 0.2)  # the whole scale of ranks, 1 (best) to k, as in Demšar's Figure 1
    ax.set_xticks(range(1, k + 1))
    ax.tick_params(axis="x", labelsize=9)
    ax.set_title(
        f"Average rank over {test.n_datasets} datasets (1 = best; CD = Nemenyi critical difference)\n"
        f"Friedman p = {test.p:.3g}; bars join summarizers not significantly different (α = {test.alpha})"
        + ("\nred: n-gram baselines (python -m src.baseline)" if hue else ""),
        fontsize=10,
        pad=28,
    )
    fig.savefig(path, dpi=120, bbox_inches="tight")  # the labels sit outside the axes: keep them whole
    plt.close(fig)


def plot_accuracy_heatmap(bench: Benchmark, path: Path) -> None:
    """Summarizers x datasets; colour and number: the cell's gap to the column's best, in
    percentage points of the dataset's metric (0 = best), with the cell's score beneath."""
    import matplotlib.pyplot as plt
    from matplotlib import colors

    accuracy = bench.score * 100
    gap = accuracy - accuracy.max(axis=0)
    values = gap.to_numpy(dtype=float)
    lowest = float(np.nanmin(values)) if np.isfinite(values).any() else 0.0
    vmin = min(lowest, -5.0)  # a gap of a point or two stays pale, not alarm red
    rows, cols = values.shape
    fig, ax = plt.subplots(figsize=(3.2 + 1.5 * cols, max(3.6, 1.6 + 0.55 * rows)))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#d9d9d9")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=colors.Normalize(vmin=vmin, vmax=0), aspect="auto")
    for i in range(rows):
        for j in range(cols):
            if np.isnan(values[i, j]):
                ax.text(j, i, "no result", ha="center", va="center", fontsize=8, color="#555555")
                continue
            red, green, blue, _ = cmap(image.norm(values[i, j]))
            color = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"  # readable on dark cells
            label = "best" if bench.best.iloc[i, j] else f"{values[i, j]:+.1f}"
            mark = " *" if bench.below_best.iloc[i, j] else ""
            ax.text(
                j,
                i - 0.12,
                label + mark,
                ha="center",
                va="center",
                fontsize=10,
                color=color,
                fontweight="bold" if bench.best.iloc[i, j] else "normal",
            )
            ax.text(j, i + 0.22, f"({accuracy.iloc[i, j]:.1f}%)", ha="center", va="center", fontsize=7.5, color=color)
    ax.set_xticks(range(cols), [f"{d}\n({LABELS[bench.metrics[d]]})" for d in bench.datasets])
    ax.set_yticks(range(rows), bench.variants)
    baselines = [i for i, v in enumerate(bench.variants) if is_baseline(v)]
    if baselines and len(baselines) < rows:  # the baselines' rows (last) apart from the summarizers'
        ax.axhline(baselines[0] - 0.5, color="black", linewidth=2)
    ax.set_xlabel("dataset")
    ax.set_ylabel("summarizer")
    ax.set_title(
        "Test score in each dataset's metric: gap to its best (pp)\n"
        f"* significantly below the best (p < {bench.alpha}); mean over {bench.replicates}",
        fontsize=10,
    )
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    bar.set_label("gap to the best (pp)")
    _save(fig, path)


def plot_equivalence(result: Equivalence, path: Path, threshold: float = THRESHOLD) -> None:
    """Two panels over methods x methods: P(row better than column by more than the rope), and
    P(row and column practically equivalent); each pair's three probabilities are its two cells on
    the left and its cell on the right. Cells above ``threshold`` are framed."""
    import matplotlib.pyplot as plt

    better, same = probability_matrices(result)
    k = len(better)
    side = 2.2 + 0.55 * k
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1.5, side + 0.6))
    panels = [
        (axes[0], better, "Blues", f"P(row better than column by > {result.rope:g} pp)"),
        (axes[1], same, "Greens", f"P(row ≈ column: within ±{result.rope:g} pp)"),
    ]
    for ax, matrix, cmap, title in panels:
        values = matrix.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                if np.isnan(values[i, j]):
                    continue
                ax.text(
                    j,
                    i,
                    f"{values[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7 if k > 8 else 9,
                    color="white" if values[i, j] > 0.6 else "black",
                )
                if values[i, j] > threshold:
                    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.8))
        ax.set_xticks(range(k), matrix.columns, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), matrix.index, fontsize=8)
        ax.set_title(title, fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    fig.suptitle(
        f"Bayesian signed-rank test over {result.n_datasets} datasets (baycomp; each dataset's mean score in its "
        f"metric)\nframed: probability > {threshold}",
        fontsize=10,
    )
    _save(fig, path)
