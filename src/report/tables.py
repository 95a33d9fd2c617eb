"""The report's markdown tables."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from src.report.metrics import DEFAULT_METRIC, LABELS, MAJORITY_FROM_TEST
from src.report.stats import ALPHA, SHUFFLED, subset_metrics


def _pct(value: Any, ci: Any = math.nan, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    text = f"{100 * value:.{digits}f}"
    return f"{text} ± {100 * ci:.{digits}f}" if ci is not None and not pd.isna(ci) else text


def _num(value: Any, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def majority_label(majority: dict) -> str:
    """The majority-class row's name; † marks a score worked out from the test split's labels."""
    return "*majority class*" + (" †" if majority["source"] == MAJORITY_FROM_TEST else "")


def summary_table(summary: pd.DataFrame, runs_header: str = "seeds", majority: dict | None = None) -> str:
    """One row per summarizer; a first column in the dataset's metric when it is not accuracy (the
    one the ranking, *Δ vs best* and the bold use); the majority-class row last, when known."""
    subsets = [c for c in summary.columns if c.startswith("acc_") and not c.endswith("_ci") and c != "acc_shuffled"]
    metric = summary["metric"].iloc[0] if "metric" in summary else DEFAULT_METRIC
    by_metric = [f"test {LABELS[metric]} % (95% CI)"] if metric != DEFAULT_METRIC else []
    header = [
        "summarizer",
        runs_header,
        *by_metric,
        "test acc % (95% CI)",
        *[c[4:] + " %" for c in subsets],
        "macro-F1 %",
        "params",
        "train s",
        "tokens/s",
        "order sensitivity (pp)",
        "Δ vs best (pp), p",
    ]
    rows = []
    for r in summary.to_dict("records"):
        if r.get("best"):
            comparison = "best"
        elif pd.isna(r.get("p_vs_best", math.nan)):
            comparison = "–"
        else:
            star = " **\\***" if r["p_vs_best"] < ALPHA else ""
            diff = 100 * r["diff_vs_best"]
            comparison = f"{diff:+.{1 if abs(diff) >= 0.1 or diff == 0 else 2}f}, p={r['p_vs_best']:.3g}{star}"
        rows.append(
            [
                f"**{r['variant']}**" if r.get("best") else r["variant"],
                str(r["seeds"]),
                *([_pct(r["score"], r["score_ci"])] if by_metric else []),
                _pct(r["test_acc"], r["test_acc_ci"]),
                *[_pct(r.get(c), r.get(f"{c}_ci")) for c in subsets],
                _pct(r.get("macro_f1")),
                _num(r.get("params")),
                _num(r.get("train_seconds"), 1),
                _num(r.get("tokens_per_second")),
                _pct(r.get("order_sensitivity"), r.get("order_sensitivity_ci")),
                comparison,
            ]
        )
    if majority is not None:
        scores = [_pct(majority["score"])] if by_metric else []
        row = [majority_label(majority), "", *scores, _pct(majority["accuracy"])]
        rows.append(row + [""] * (len(header) - len(row)))
    return _table(header, rows)


def jobs_table(jobs: pd.DataFrame) -> str:
    ok = jobs[jobs["status"] == "ok"]
    subsets = subset_metrics(ok)
    header = [
        "job",
        "summarizer",
        "seed",
        "test acc %",
        *[s[9:] + " %" for s in subsets],
        "shuffled %",
        "macro-F1 %",
        "best val acc %",
        "epochs",
        "train s",
        "tokens/s",
    ]
    rows = [
        [
            j["job"],
            j["variant"],
            _num(j.get("seed")),
            _pct(j.get("test/acc")),
            *[_pct(j.get(s)) for s in subsets],
            _pct(j.get(SHUFFLED)),
            _pct(j.get("test/f1")),
            _pct(j.get("val/acc_best")),
            _num(j.get("epochs")),
            _num(j.get("train_seconds"), 1),
            _num(j.get("tokens_per_second")),
        ]
        for j in ok.to_dict("records")
    ]
    return _table(header, rows)


def buckets_table(
    buckets: pd.DataFrame, variants: list[str], column: str = "bucket", labels: list[str] | None = None
) -> str:
    """Accuracy per summarizer in token bins (``column``: input-length buckets, or distance bins for
    the memory curve), one column per bin in ``labels`` order (default: first seen), with its size."""
    flat = buckets.assign(**{column: buckets[column].astype(str)})
    labels = labels or list(dict.fromkeys(flat[column]))
    wide = flat.pivot(index="variant", columns=column, values="accuracy")
    counts = flat.groupby(column)["examples"].max()
    rows = [[v, *[_pct(wide.loc[v].get(b)) if v in wide.index else "–" for b in labels]] for v in variants]
    return _table(["summarizer", *[f"{b} tokens (n={int(counts[b])})" for b in labels]], rows)
