"""``python -m src.report.protocols A B [--names A,B] [--out CSV]``: how one set's scores and ranking move between two
protocols, e.g. CR's fixed split against its 10-fold cross-validation, or SST-2 trained on sentences
against the same set trained on every phrase.

A and B are ``summary.csv`` files written by ``python -m src.report`` (or ``src.report.archive``), each
``PATH`` or ``PATH:DATASET`` to take one dataset's rows of a cross-dataset summary. The methods both
hold are compared: each one's score and rank under A and B, the move, Kendall's tau-b and Spearman's
rho between the two rankings (scipy), and the mean shift B - A with its 95% t-interval over methods.
A literature figure measured under B but compared with runs under A is only as good as this says.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from src.report.stats import CONFIDENCE
from src.report.tables import _table
from src.utils.cli import user_errors
from src.utils.errors import UserError

USAGE = "usage: python -m src.report.protocols A_SUMMARY[:DATASET] B_SUMMARY[:DATASET] [--names A,B] [--out CSV]"
MIN_METHODS = 3  # below this a rank correlation says nothing


@dataclass
class ProtocolShift:
    table: pd.DataFrame  # variant, score_a, rank_a, score_b, rank_b, rank_move, shift_points
    kendall_tau: float
    kendall_p: float
    spearman_rho: float
    spearman_p: float
    mean_shift: float  # points, B - A
    mean_shift_ci: float  # half-width, points
    labels: tuple[str, str]


def read_summary(spec: str) -> tuple[pd.Series, str]:
    """Scores by variant from ``PATH`` or ``PATH:DATASET`` (a summary.csv), and a label for it."""
    path, _, dataset = spec.partition(":") if not Path(spec).is_file() else (spec, "", "")
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{USAGE} (no such file: {path})")
    try:
        summary = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{path}: cannot read it as CSV ({exc})") from None
    missing = {"variant", "score"} - set(summary.columns)
    if missing:
        raise UserError(f"{path}: no {', '.join(sorted(missing))} column (not a report's summary.csv)")
    if "data" in summary:
        datasets = sorted(map(str, summary["data"].dropna().unique()))
        if not dataset and len(datasets) > 1:
            raise UserError(f"{path}: holds {', '.join(datasets)}; name one as {path}:DATASET")
        if dataset:
            if dataset not in datasets:
                raise UserError(f"{path}: no dataset {dataset!r} (it holds {', '.join(datasets)})")
            summary = summary[summary["data"].astype(str) == dataset]
        dataset = dataset or (datasets[0] if datasets else "")
    elif dataset:
        raise UserError(f"{path}: has no data column, so no dataset {dataset!r} to take")
    scores = summary.set_index("variant")["score"].astype(float)
    if scores.index.duplicated().any():
        raise UserError(f"{path}: variant {scores.index[scores.index.duplicated()][0]!r} appears twice")
    return scores, f"{path.parent.name}/{dataset}" if dataset else str(path.parent.name)


def compare_protocols(a: pd.Series, b: pd.Series, labels: tuple[str, str] = ("A", "B")) -> ProtocolShift:
    """Scores (0-1) by method under two protocols; the methods both have, ranked 1 = best under each."""
    from scipy import stats

    shared = [v for v in a.index if v in b.index and not (math.isnan(a[v]) or math.isnan(b[v]))]
    if len(shared) < MIN_METHODS:
        raise UserError(
            f"{labels[0]} and {labels[1]} share {len(shared)} method(s) with a score; "
            f"a ranking needs at least {MIN_METHODS}"
        )
    table = pd.DataFrame({"variant": shared, "score_a": a[shared].to_numpy(), "score_b": b[shared].to_numpy()})
    table["rank_a"] = table["score_a"].rank(ascending=False)
    table["rank_b"] = table["score_b"].rank(ascending=False)
    table["rank_move"] = table["rank_a"] - table["rank_b"]  # > 0: better placed under B
    table["shift_points"] = 100 * (table["score_b"] - table["score_a"])
    tau, tau_p = stats.kendalltau(table["score_a"], table["score_b"])
    rho, rho_p = stats.spearmanr(table["score_a"], table["score_b"])
    shifts = table["shift_points"].to_numpy()
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(shifts) - 1) * shifts.std(ddof=1) / math.sqrt(len(shifts))
    table = table[["variant", "score_a", "rank_a", "score_b", "rank_b", "rank_move", "shift_points"]]
    return ProtocolShift(
        table.sort_values("rank_a", kind="stable", ignore_index=True),
        float(tau),
        float(tau_p),
        float(rho),
        float(rho_p),
        float(shifts.mean()),
        float(half),
        labels,
    )


def shift_text(shift: ProtocolShift) -> str:
    """The comparison as markdown: one row per method, then the correlations and the mean shift."""
    a, b = shift.labels
    rows = [
        [
            str(r.variant),
            f"{100 * r.score_a:.1f}",
            f"{r.rank_a:g}",
            f"{100 * r.score_b:.1f}",
            f"{r.rank_b:g}",
            f"{r.rank_move:+g}",
            f"{r.shift_points:+.1f}",
        ]
        for r in shift.table.itertuples()
    ]
    header = ["method", f"{a} %", f"rank {a}", f"{b} %", f"rank {b}", "rank move", f"{b} - {a} (points)"]
    largest = shift.table.loc[shift.table["rank_move"].abs().idxmax()]
    return "\n".join(
        [
            _table(header, rows),
            "",
            f"{len(shift.table)} methods. Rankings: Kendall's tau-b {shift.kendall_tau:.2f} "
            f"(p = {shift.kendall_p:.2g}), Spearman's rho {shift.spearman_rho:.2f} (p = {shift.spearman_p:.2g}); "
            f"the largest move: {largest['variant']} {largest['rank_a']:g} -> {largest['rank_b']:g}. "
            f"Mean shift {b} - {a}: {shift.mean_shift:+.2f} points "
            f"(95% t-interval over methods ± {shift.mean_shift_ci:.2f}).",
            "",
        ]
    )


@user_errors
def _option(args: list[str], name: str, what: str) -> str | None:
    """Removes ``name VALUE`` from ``args``; its value, or None when absent."""
    if name not in args:
        return None
    at = args.index(name)
    if at + 1 >= len(args):
        raise UserError(f"{USAGE} ({name} takes {what})")
    value = args[at + 1]
    del args[at : at + 2]
    return value


@user_errors
def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = _option(args, "--out", "a file name")
    names = _option(args, "--names", "two names, A,B")
    if len(args) != 2:
        raise UserError(f"{USAGE} (give two summaries, got {len(args)})")
    (a, label_a), (b, label_b) = read_summary(args[0]), read_summary(args[1])
    if names is not None:
        parts = [n.strip() for n in names.split(",")]
        if len(parts) != 2 or not all(parts):
            raise UserError(f"{USAGE} (--names takes two names, A,B; got {names!r})")
        label_a, label_b = parts
    shift = compare_protocols(a, b, (label_a, label_b))
    if out is not None:
        shift.table.to_csv(out, index=False)
    print(shift_text(shift))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
