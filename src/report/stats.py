"""The report's statistics: t-intervals over seeds, paired tests against the best summarizer
(paired t-test over seeds, or a paired bootstrap over test examples), accuracy by input length."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from src.report.lengths import length_column
from src.report.loading import is_baseline
from src.report.metrics import DEFAULT_METRIC, add_scores, dataset_metric
from src.summarizers.registry import summarizer_names

SUMMARIZER_ORDER = summarizer_names()
CONFIDENCE = 0.95
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 10_000
LENGTH_BUCKETS = 5
SHUFFLED, ORDER_DROP = "test/acc_shuffled", "test/order_drop"


def t_interval(values: Any, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Mean and half-width of the two-sided t confidence interval (NaN half-width below 2 values)."""
    from scipy import stats

    values = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    if len(values) == 0:
        return math.nan, math.nan
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan
    sem = values.std(ddof=1) / math.sqrt(len(values))
    return mean, float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * sem)


def paired_t_test(a: Any, b: Any) -> float:
    """Two-sided p of a paired t-test; constant differences give 1 (all zero) or 0 (all equal, not zero)."""
    from scipy import stats

    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if np.allclose(diffs, diffs[0]):
        return 1.0 if np.isclose(diffs[0], 0.0) else 0.0
    return float(stats.ttest_rel(a, b).pvalue)


def paired_bootstrap(
    correct_a: Any, correct_b: Any, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float, tuple[float, float]]:
    """Paired bootstrap over test examples of acc(a) - acc(b): (difference, two-sided p, 95% CI).

    Each example contributes d = correct_a - correct_b in {-1, 0, 1}, so a resample is exactly a
    multinomial draw of the three counts. p is the share of resampled differences at least as far
    from the observed one as the observed is from 0 (the shifted-null bootstrap test).
    """
    d = np.asarray(correct_a, dtype=float) - np.asarray(correct_b, dtype=float)
    n = len(d)
    if n == 0:
        return math.nan, math.nan, (math.nan, math.nan)
    observed = float(d.mean())
    shares = np.array([(d == 1).mean(), (d == 0).mean(), (d == -1).mean()])
    counts = np.random.default_rng(seed).multinomial(n, shares / shares.sum(), size=resamples)
    boot = (counts[:, 0] - counts[:, 2]) / n
    p = float(np.mean(np.abs(boot - observed) >= abs(observed) - 1e-12)) if observed else 1.0
    low, high = np.quantile(boot, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return observed, p, (float(low), float(high))


def _variant_order(variants: list[str]) -> list[str]:
    """The registry's order, other summarizers after, the n-gram baselines last (a group of their own)."""

    def key(v: str):
        name = v.split(" ", 1)[0]
        return (is_baseline(v), SUMMARIZER_ORDER.index(name) if name in SUMMARIZER_ORDER else len(SUMMARIZER_ORDER), v)

    return sorted(set(variants), key=key)


def subset_metrics(jobs: pd.DataFrame) -> list[str]:
    """``test/acc_<subset>`` columns (e.g. order_dependent, order_free), not the shuffled probe."""
    return sorted(c for c in jobs.columns if c.startswith("test/acc_") and c != SHUFFLED)


def summarize(jobs: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: means over seeds with 95% t-intervals, and the comparison with the best
    by the dataset's metric (``score``, see ``metrics``; accuracy unless the runs name another)."""
    if "score" not in jobs:
        jobs = add_scores(jobs)
    ok = jobs[jobs["status"] == "ok"].copy()
    if ok.empty:
        return pd.DataFrame()
    metric = dataset_metric(ok)
    if SHUFFLED in ok and ORDER_DROP not in ok:
        ok[ORDER_DROP] = ok["test/acc"] - ok[SHUFFLED]
    rows = []
    for variant in _variant_order(ok["variant"].tolist()):
        group = ok[ok["variant"] == variant]
        acc, acc_ci = t_interval(group["test/acc"])
        score, score_ci = t_interval(group["score"])
        row = {
            "variant": variant,
            "summarizer": group["summarizer"].iloc[0],
            "seeds": len(group),
            "metric": metric,
            "score": score,
            "score_ci": score_ci,
            "test_acc": acc,
            "test_acc_ci": acc_ci,
        }
        for column, name in [
            ("test/f1", "macro_f1"),
            ("val/acc_best", "val_acc_best"),
            (SHUFFLED, "acc_shuffled"),
            (ORDER_DROP, "order_sensitivity"),
            ("train_seconds", "train_seconds"),
            ("tokens_per_second", "tokens_per_second"),
            ("params", "params"),
            *[(s, s.replace("test/acc_", "acc_")) for s in subset_metrics(ok)],
        ]:
            if column in group:
                row[name], row[f"{name}_ci"] = t_interval(group[column])
        rows.append(row)
    summary = pd.DataFrame(rows)
    best = summary.loc[summary["score"].idxmax(), "variant"]
    summary["best"] = summary["variant"] == best
    comparisons = [compare_with(ok, predictions, best, v) for v in summary["variant"]]
    summary = pd.concat([summary, pd.DataFrame(comparisons)], axis=1)
    return summary


def replicate_keys(frame: pd.DataFrame) -> list[str]:
    """What makes two runs of one configuration replicates: the seed, and the cross-validation fold
    when the sweep has folds."""
    return ["seed", "fold"] if "fold" in frame and frame["fold"].notna().any() else ["seed"]


def compare_with(ok: pd.DataFrame, predictions: pd.DataFrame, best: str, variant: str) -> dict:
    """score(variant) - score(best), paired over shared seeds (or (seed, fold) pairs) by a t-test or,
    with fewer than two shared and the metric accuracy, over the shared runs' test examples
    (bootstrap); other metrics are not per-example means, so they need two shared seeds."""
    none = {"diff_vs_best": math.nan, "p_vs_best": math.nan, "test_vs_best": ""}
    if variant == best:
        return {**none, "test_vs_best": "best"}
    keys = replicate_keys(ok)
    column = "score" if "score" in ok else "test/acc"
    a = ok[ok["variant"] == variant].groupby(keys)[column].mean()
    b = ok[ok["variant"] == best].groupby(keys)[column].mean()
    seeds = sorted(set(a.index) & set(b.index))
    runs = "seeds" if keys == ["seed"] else "seed×fold runs"
    if len(seeds) >= 2:
        return {
            "diff_vs_best": float((a[seeds] - b[seeds]).mean()),
            "p_vs_best": paired_t_test(a[seeds], b[seeds]),
            "test_vs_best": f"paired t-test, {len(seeds)} {runs}",
        }
    by_accuracy = "metric" not in ok or (ok["metric"] == DEFAULT_METRIC).all()
    if predictions.empty or not seeds or not by_accuracy:  # the bootstrap below resamples per-example accuracy
        return none
    shared = {s if isinstance(s, tuple) else (s,) for s in seeds}
    in_shared = np.array([k in shared for k in zip(*(predictions[c] for c in keys))], dtype=bool)
    pa = predictions[(predictions["variant"] == variant) & in_shared]
    pb = predictions[(predictions["variant"] == best) & in_shared]
    pairs = pa.merge(pb, on=[*keys, "index"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["label_a"] == pairs["label_b"]]  # the same example in both (same data seed)
    if pairs.empty:
        return none
    diff, p, _ = paired_bootstrap(pairs["correct_a"], pairs["correct_b"])
    return {"diff_vs_best": diff, "p_vs_best": p, "test_vs_best": f"paired bootstrap, {len(pairs)} examples"}


def length_buckets(predictions: pd.DataFrame, buckets: int = LENGTH_BUCKETS) -> pd.DataFrame:
    """Accuracy per variant in input-length buckets (quantiles of all test lengths, in tokens: the
    untruncated ``full_length`` when the predictions have it, see ``lengths``)."""
    if predictions.empty:
        return pd.DataFrame()
    lengths = predictions[length_column(predictions)]
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, buckets + 1)).round())
    if len(edges) < 2:
        edges = np.array([lengths.min() - 1, lengths.max()])
    edges[0] -= 1  # intervals are (low, high]: the shortest input belongs to the first bucket
    labels = [f"{int(lo) + 1}-{int(hi)}" for lo, hi in zip(edges[:-1], edges[1:])]
    bucket = pd.cut(lengths, edges, labels=labels)
    table = (
        predictions.assign(bucket=bucket)
        .groupby(["variant", "bucket"], observed=True)["correct"]
        .agg(accuracy="mean", examples="size")
        .reset_index()
    )
    return table
