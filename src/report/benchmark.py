"""The cross-dataset view of a sweep whose jobs ran on several datasets (results.json ``data``).

Each dataset is summarized exactly as a single-dataset sweep is (``stats.summarize``: mean and 95%
t-interval over replicates, and the paired comparison with that dataset's best summarizer), by its
own metric (``metrics``: accuracy unless its runs name macro-F1 or MCC); the matrix puts those side
by side with each dataset's majority-class score beneath, ranks the summarizers within each
dataset and, with enough datasets, tests the ranks across datasets (``ranking``). Replicates are
seeds, or (seed, fold) pairs when the jobs differ in ``data.fold``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from src.report.equivalence import MIN_DATASETS as EQUIVALENCE_MIN_DATASETS
from src.report.equivalence import ROPE_POINTS, Equivalence, compare_pairs
from src.report.metrics import add_scores, dataset_metric, majority_row
from src.report.ranking import RankTest, rank_test, ranks_per_dataset, why_not_tested
from src.report.stats import ALPHA, _variant_order, replicate_keys, summarize

DATASET = "data"


def datasets_of(jobs: pd.DataFrame) -> list[str]:
    """The datasets of a sweep's jobs, failed ones included, in job order."""
    if DATASET not in jobs:
        return []
    return [str(d) for d in dict.fromkeys(jobs[DATASET].dropna()) if str(d)]


def is_benchmark(jobs: pd.DataFrame) -> bool:
    return len(datasets_of(jobs)) >= 2


def replicates_label(jobs: pd.DataFrame) -> str:
    return "seeds" if replicate_keys(jobs[jobs["status"] == "ok"]) == ["seed"] else "seed × fold pairs"


@dataclass
class Benchmark:
    datasets: list[str]  # the matrix's columns, in the sweep's order
    variants: list[str]  # its rows, in the registry's order
    summaries: dict[str, pd.DataFrame]  # per dataset, the single-dataset summary
    metrics: dict[str, str]  # per dataset, the metric it is ranked and tested by
    score: pd.DataFrame  # mean test score in that metric (accuracy: 0-1), NaN where no job succeeded
    ci: pd.DataFrame  # 95% t-interval half-widths
    runs: pd.DataFrame  # replicates behind each cell
    train_seconds: pd.DataFrame  # mean training wall time per job (a baseline's: its chosen setting's fit)
    best: pd.DataFrame  # the column's best (ties included)
    p_vs_best: pd.DataFrame  # paired test against the column's best
    test_vs_best: pd.DataFrame  # which test gave that p
    below_best: pd.DataFrame  # significantly below the column's best (p < alpha)
    replicates: str  # "seeds" or "seed × fold pairs"
    ranked_datasets: list[str]  # the datasets with a result for every summarizer
    ranks: pd.DataFrame  # rank within each ranked dataset (1 = best, ties averaged)
    average_rank: pd.Series
    mean_score: pd.Series  # over the ranked datasets
    majority: dict[str, dict]  # per dataset, the majority-class score (``metrics.majority_row``), if known
    rank_test: RankTest | None = None
    not_tested: str | None = None  # why there is no Friedman test / diagram
    equivalence: Equivalence | None = None  # the Bayesian comparison of every pair
    no_equivalence: str | None = None  # why there is none
    alpha: float = ALPHA
    notes: list[str] = field(default_factory=list)


def why_no_equivalence(n_datasets: int, n_methods: int) -> str | None:
    if n_methods < 2:
        return f"only {n_methods} method"
    if n_datasets < EQUIVALENCE_MIN_DATASETS:
        return (
            f"only {n_datasets} dataset{'s' if n_datasets != 1 else ''} with a result for every method (the test "
            f"needs at least {EQUIVALENCE_MIN_DATASETS}: with fewer its prior decides)"
        )
    return None


def build_benchmark(
    jobs: pd.DataFrame, predictions: pd.DataFrame, alpha: float = ALPHA, rope: float = ROPE_POINTS
) -> Benchmark:
    datasets = datasets_of(jobs)
    if "score" not in jobs:
        jobs = add_scores(jobs)
    summaries, metrics, majority = {}, {}, {}
    for dataset in datasets:
        in_dataset = jobs[DATASET].astype(str) == dataset
        preds = (
            predictions[predictions[DATASET].astype(str) == dataset]
            if not predictions.empty and DATASET in predictions
            else pd.DataFrame()
        )
        metrics[dataset] = dataset_metric(jobs[in_dataset], dataset)
        summaries[dataset] = summarize(jobs[in_dataset], preds)
        if (row := majority_row(jobs[in_dataset], preds, metrics[dataset])) is not None:
            majority[dataset] = row
    ok = jobs[jobs["status"] == "ok"]
    variants = _variant_order(ok["variant"].tolist())

    def cells(column: str, default=float("nan")) -> pd.DataFrame:
        frame = pd.DataFrame(default, index=variants, columns=datasets, dtype=object)
        for dataset, summary in summaries.items():
            if not summary.empty and column in summary:
                for variant, value in zip(summary["variant"], summary[column]):
                    frame.loc[variant, dataset] = value
        return frame

    score = cells("score").astype(float)
    best = score.eq(score.max(axis=0), axis=1) & score.notna()
    p_vs_best = cells("p_vs_best").astype(float)
    ranked = [d for d in datasets if score[d].notna().all()]
    notes = []
    if len(ranked) < len(datasets):
        notes.append(
            "not ranked (a summarizer has no successful job there): "
            + ", ".join(f"`{d}`" for d in datasets if d not in ranked)
        )
    ranks = ranks_per_dataset(score[ranked])
    nothing_ranked = pd.Series(float("nan"), index=variants)
    not_tested = why_not_tested(len(ranked), len(variants))
    no_equivalence = why_no_equivalence(len(ranked), len(variants))
    return Benchmark(
        datasets=datasets,
        variants=variants,
        summaries=summaries,
        metrics=metrics,
        score=score,
        ci=cells("score_ci").astype(float),
        runs=cells("seeds", 0).astype(int),
        train_seconds=cells("train_seconds").astype(float),
        best=best,
        p_vs_best=p_vs_best,
        test_vs_best=cells("test_vs_best", ""),
        below_best=(p_vs_best < alpha) & ~best,
        replicates=replicates_label(jobs),
        ranked_datasets=ranked,
        ranks=ranks,
        average_rank=ranks.mean(axis=1) if ranked else nothing_ranked,
        mean_score=score[ranked].mean(axis=1) if ranked else nothing_ranked,
        majority=majority,
        rank_test=None if not_tested else rank_test(score[ranked], alpha=alpha),
        not_tested=not_tested,
        equivalence=None if no_equivalence else compare_pairs(score[ranked], rope=rope),
        no_equivalence=no_equivalence,
        alpha=alpha,
        notes=notes,
    )


def matrix_frame(bench: Benchmark) -> pd.DataFrame:
    """The matrix as one wide table (``matrix.csv``, the W&B table): per dataset its metric, the
    mean score in it, the half-width, the replicates, the rank and the p against the column's best;
    then the mean score and the average rank."""
    columns: dict[str, list] = {"summarizer": bench.variants}
    for d in bench.datasets:
        columns[f"{d}/metric"] = [bench.metrics[d]] * len(bench.variants)
        columns[f"{d}/score"] = bench.score[d].tolist()
        columns[f"{d}/score_ci"] = bench.ci[d].tolist()
        columns[f"{d}/runs"] = bench.runs[d].tolist()
        columns[f"{d}/rank"] = (
            bench.ranks[d].reindex(bench.variants).tolist()
            if d in bench.ranks
            else [float("nan")] * len(bench.variants)
        )
        columns[f"{d}/p_vs_best"] = bench.p_vs_best[d].tolist()
    columns["mean_score"] = bench.mean_score.reindex(bench.variants).tolist()
    columns["average_rank"] = bench.average_rank.reindex(bench.variants).tolist()
    columns["mean_train_seconds"] = bench.train_seconds.mean(axis=1).reindex(bench.variants).tolist()
    return pd.DataFrame(columns)
