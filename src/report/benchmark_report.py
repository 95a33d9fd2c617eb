"""The report of a sweep over several datasets: the matrix (summarizers x datasets) with published
anchors beneath, the rank test across datasets with ``ranks.png``, the Bayesian comparison with
``equivalence.png``, ``accuracy_heatmap.png``, then each dataset's own single-dataset report.
Writes ``summary.csv`` (one row per summarizer and dataset), ``matrix.csv`` and
``equivalence.csv``."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from src.report.anchors import anchors_for
from src.report.benchmark import DATASET, Benchmark, build_benchmark, matrix_frame
from src.report.benchmark_plots import plot_accuracy_heatmap, plot_equivalence, plot_rank_diagram
from src.report.equivalence import ROPE_POINTS, THRESHOLD, equivalence_table, sentences
from src.report.metrics import LABELS, MAJORITY_FROM_TEST
from src.report.ranking import RULE_OF_THUMB_DATASETS
from src.report.sections import dataset_sections, job_counts, seeds_text
from src.report.stats import BOOTSTRAP_RESAMPLES, CONFIDENCE
from src.report.tables import _num, _pct, _table

BENCHMARK_PLOTS = ("ranks.png", "accuracy_heatmap.png", "equivalence.png")


def dataset_suffix(dataset: str) -> str:
    """``accuracy<suffix>.png`` for one dataset's plots: ``_mr`` for mr."""
    return "_" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset) or "data")


def _cell(bench: Benchmark, variant: str, dataset: str, full_runs: int) -> str:
    acc = bench.score.loc[variant, dataset]
    if pd.isna(acc):
        return "–"
    text = _pct(acc, bench.ci.loc[variant, dataset])
    if bench.best.loc[variant, dataset]:
        text = f"**{text}**"
    if bench.below_best.loc[variant, dataset]:
        text += " \\*"
    runs = int(bench.runs.loc[variant, dataset])
    if runs < full_runs:
        text += f" ({runs} of {full_runs})"
    return text


def matrix_table(bench: Benchmark) -> str:
    """Summarizers x datasets in each dataset's metric (named in the header), then the row of the
    majority-class scores, never ranked."""
    full_runs = int(bench.runs.to_numpy().max()) if bench.runs.size else 0
    partial = len(bench.ranked_datasets) < len(bench.datasets)
    one_metric = len(set(bench.metrics.values())) == 1
    header = [
        "summarizer",
        *[f"{d} {LABELS[bench.metrics[d]]} %" for d in bench.datasets],
        ("mean %" if one_metric else "mean of the sets' metrics %") + (" (ranked sets)" if partial else ""),
        "avg rank" + (" (ranked sets)" if partial else ""),
        "train s",
    ]
    train_seconds = bench.train_seconds.mean(axis=1)
    rows = [
        [
            v,
            *[_cell(bench, v, d, full_runs) for d in bench.datasets],
            _pct(bench.mean_score.get(v)),
            _num(bench.average_rank.get(v), 2),
            _num(train_seconds.get(v), 1),
        ]
        for v in bench.variants
    ]
    if bench.majority:
        cells = [
            _pct(bench.majority[d]["score"]) + (" †" if bench.majority[d]["source"] == MAJORITY_FROM_TEST else "")
            if d in bench.majority
            else "–"
            for d in bench.datasets
        ]
        rows.append(["*majority class*", *cells, "", "", ""])
    return _table(header, rows)


def _protocols(group: pd.DataFrame) -> str:
    by_protocol: dict[str, list[str]] = {}
    for dataset, protocol in zip(group["data"], group["protocol"]):
        by_protocol.setdefault(protocol, []).append(dataset)
    if len(by_protocol) == 1:
        return next(iter(by_protocol))
    return "; ".join(f"{', '.join(datasets)}: {protocol}" for protocol, datasets in by_protocol.items())


def anchors_table(bench: Benchmark) -> str:
    """Published numbers for the matrix's datasets, one row per method; empty when there are none."""
    anchors = anchors_for(bench.datasets)
    if anchors.empty:
        return ""
    rows = []
    for method, group in anchors.groupby("method", sort=False):
        values = dict(zip(group["data"], group["accuracy"]))
        rows.append(
            [
                method,
                str(group["init"].iloc[0]),
                *[f"{values[d]:.1f}" if d in values else "" for d in bench.datasets],
                _protocols(group),
                "; ".join(dict.fromkeys(group["source"])),
            ]
        )
    return _table(
        ["published, not run here", "word vectors", *[f"{d} %" for d in bench.datasets], "protocol", "source"], rows
    )


def ranking_lines(bench: Benchmark, plots: bool) -> list[str]:
    lines = ["## Ranking across datasets", ""]
    ranked = ", ".join(f"`{d}`" for d in bench.ranked_datasets) or "none"
    lines += [
        f"Ranks within each dataset (1 = best, ties share the mean rank) over the {len(bench.ranked_datasets)} "
        f"datasets with a result for every summarizer ({ranked}):",
        "",
    ]
    if bench.ranked_datasets:
        rows = [
            [v, *[_num(bench.ranks.loc[v, d], 1) for d in bench.ranked_datasets], _num(bench.average_rank[v], 2)]
            for v in bench.variants
        ]
        lines += [_table(["summarizer", *bench.ranked_datasets, "average rank"], rows)]
    lines += [f"- {note}" for note in bench.notes]
    if bench.notes:
        lines.append("")
    test = bench.rank_test
    if test is None:
        lines += [f"No Friedman test and no critical-difference diagram: {bench.not_tested}.", ""]
        return lines
    lines += [test.describe(), ""]
    pairs = [
        (a, b, test.nemenyi.loc[a, b])
        for i, a in enumerate(bench.variants)
        for b in bench.variants[i + 1 :]
        if test.nemenyi.loc[a, b] < test.alpha
    ]
    if pairs:
        lines += [
            "Pairs the Nemenyi test separates (p < "
            f"{test.alpha}): " + "; ".join(f"{a} vs {b} (p = {p:.3g})" for a, b, p in pairs) + ".",
            "",
        ]
    else:
        lines += [f"The Nemenyi test separates no pair of summarizers at α = {test.alpha}.", ""]
    caveats = []
    if test.p >= test.alpha:
        caveats.append("the Friedman test does not reject equal ranks, so no post-hoc difference should be claimed")
    if test.n_datasets <= RULE_OF_THUMB_DATASETS:
        caveats.append(
            f"with {test.n_datasets} datasets the chi-square approximation is rough (Demšar 2006's rule "
            f"of thumb is more than {RULE_OF_THUMB_DATASETS} datasets and 5 methods); read p with care"
        )
    if caveats:
        lines += ["Caveats: " + "; ".join(caveats) + ".", ""]
    if plots:
        lines += ["![critical-difference diagram of average ranks](ranks.png)", ""]
    return lines


def equivalence_lines(bench: Benchmark, plots: bool) -> list[str]:
    """The Bayesian comparison: the plain answer, then every pair's three probabilities."""
    lines = ["## Practical equivalence (Bayesian signed-rank test)", ""]
    result = bench.equivalence
    if result is None:
        return [*lines, f"No Bayesian comparison: {bench.no_equivalence}.", ""]
    lines += [
        f"For each pair A, B: the posterior probability that A is better by more than the region of practical "
        f"equivalence (rope ±{result.rope:g} point of each dataset's metric), that the two are within it, and "
        f"that B is better, from baycomp's Bayesian signed-rank test (Benavoli et al. 2014) on each method's "
        f"mean score on the {result.n_datasets} ranked datasets ({result.samples:,} posterior samples, seed "
        f"{result.seed}; `python -m src.report DIR --rope POINTS` sets the rope). A verdict needs a "
        f"probability above {THRESHOLD}.",
        "",
        *[f"- {s}" for s in sentences(result)],
        "",
    ]
    if plots:
        lines += ["![pairwise probabilities of the Bayesian comparison](equivalence.png)", ""]
    return [*lines, equivalence_table(result)]


def benchmark_sections(
    sweep_dir: Path, jobs: pd.DataFrame, predictions: pd.DataFrame, plots: bool = True, rope: float = ROPE_POINTS
) -> list[str]:
    """Everything of report.md after its title, for a sweep over several datasets."""
    bench = build_benchmark(jobs, predictions, rope=rope)
    ok = jobs[jobs["status"] == "ok"]
    seeds = seeds_text(ok)
    folds = sorted(set(ok["fold"].dropna().astype(int))) if "fold" in ok else []
    lines = [
        f"Benchmark over {len(bench.datasets)} datasets: "
        + ", ".join(f"**{d}**" for d in bench.datasets)
        + f". Jobs: {job_counts(jobs)}. Seeds: {seeds}."
        + (f" Folds: {', '.join(map(str, folds))}." if folds else ""),
        "",
    ]

    summaries = [s.assign(**{DATASET: d}) for d, s in bench.summaries.items() if not s.empty]
    if summaries:
        summary = pd.concat(summaries, ignore_index=True)
        summary[[DATASET, *[c for c in summary.columns if c != DATASET]]].to_csv(sweep_dir / "summary.csv", index=False)
    matrix_frame(bench).to_csv(sweep_dir / "matrix.csv", index=False)
    if bench.equivalence is not None:
        bench.equivalence.pairs.assign(rope=bench.equivalence.rope).to_csv(sweep_dir / "equivalence.csv", index=False)

    replicates = bench.replicates
    lines += [
        "## Test scores across datasets",
        "",
        matrix_table(bench),
        "Each dataset is judged by its own metric (in its column's header: accuracy unless its data config "
        "names macro-F1 or MCC), and the ranks, tests, bold and marks below use it. "
        f"Each cell: mean test score over {replicates} ± half-width of the {CONFIDENCE:.0%} t-interval "
        + (
            "(none with one), each fold's held-out part as its test set; the (seed, fold) pairs are the "
            "replicates (folds share training data, so tests over them are optimistic: Nadeau & Bengio 2003)"
            if replicates != "seeds"
            else "(none with one), on the dataset's test split"
        )
        + f". **Bold**: the column's best. \\*: significantly below the column's best (p < {bench.alpha}), "
        f"paired over {replicates} by a paired t-test when both have ≥ 2 in common, else by a paired "
        f"bootstrap over test examples ({BOOTSTRAP_RESAMPLES:,} resamples); no correction for multiple "
        'comparisons. "(n of m)": a cell with fewer successful runs than the others. *mean %*: mean of the '
        "cells over the ranked datasets; *avg rank*: mean rank over them (1 = best, ties averaged); *train s*: "
        "training wall time per job, averaged over the datasets (a baseline's: the fit of its chosen setting). "
        "Rows marked *(baseline)* are n-gram baselines (`python -m src.baseline`), ranked and tested beside the "
        "summarizers. "
        "*Majority class*: the score of always answering the train split's most frequent class on the test "
        "split, for orientation (never ranked); † where the runs did not record it and it is the test split's "
        "most frequent class instead, from predictions.csv (an upper bound).",
        "",
    ]
    anchors = anchors_table(bench)
    if anchors:
        lines += [
            "**Published, not run here**: other models under other protocols (most MR/CR/MPQA/SUBJ "
            "figures are 10-fold cross-validation means; SST in Kim 2014 is trained on phrase labels), for "
            "orientation only: never ranked, bolded or tested against the rows above.",
            "",
            anchors,
        ]
    lines += ranking_lines(bench, plots)
    lines += equivalence_lines(bench, plots)
    if plots:
        if bench.rank_test is not None:
            plot_rank_diagram(bench, sweep_dir / "ranks.png")
        if bench.equivalence is not None:
            plot_equivalence(bench.equivalence, sweep_dir / "equivalence.png")
        plot_accuracy_heatmap(bench, sweep_dir / "accuracy_heatmap.png")
        lines += ["## Gap to each dataset's best", "", "![accuracy gap heatmap](accuracy_heatmap.png)", ""]

    for dataset in bench.datasets:
        summary = bench.summaries[dataset]
        in_dataset = jobs[DATASET].astype(str) == dataset
        lines += [f"## Dataset `{dataset}`", ""]
        if summary.empty:
            lines += ["No successful job on this dataset (see Failed jobs).", ""]
            continue
        preds = (
            predictions[predictions[DATASET].astype(str) == dataset]
            if not predictions.empty and DATASET in predictions
            else pd.DataFrame()
        )
        lines += dataset_sections(
            sweep_dir,
            jobs[in_dataset],
            preds,
            summary,
            plots,
            level="###",
            suffix=dataset_suffix(dataset),
            replicates=replicates,
            dataset=dataset,
            majority=bench.majority.get(dataset),
        )
    return lines
