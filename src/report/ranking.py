"""Comparing summarizers across datasets by their ranks (Demšar 2006, "Statistical comparisons of
classifiers over multiple data sets", JMLR 7): ranks per dataset, the Friedman test with the
Iman-Davenport F, and the Nemenyi post-hoc test with its critical difference.

The tests come from kept libraries: ``scipy.stats.friedmanchisquare`` (the Friedman statistic,
corrected for ties) and ``scikit_posthocs.posthoc_nemenyi_friedman`` (pairwise p-values); the
critical-difference diagram is ``scikit_posthocs.critical_difference_diagram`` (see
``benchmark_plots``). autorank was the other candidate: it refuses fewer than five datasets
("requires at least five performance estimations"), and the classic suite on hand has four.

Matrices here are accuracy tables with one row per summarizer and one column per dataset
(higher is better); rank 1 is the best on a dataset, ties share the mean of their ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Friedman's test needs at least three methods (scipy refuses fewer); over two datasets it cannot
# reach p < 0.05 with up to ~8 methods, so three datasets is the least worth testing. Demšar's rule
# of thumb for the chi-square approximation is more than 10 datasets and 5 methods.
MIN_DATASETS = 3
MIN_METHODS = 3
RULE_OF_THUMB_DATASETS = 10


def ranks_per_dataset(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Rank of each summarizer (row) within each dataset (column): 1 = best, ties averaged; a
    missing cell stays missing and the others are ranked among themselves."""
    return accuracy.rank(axis=0, ascending=False, method="average")


def why_not_tested(n_datasets: int, n_methods: int) -> str | None:
    """Why the Friedman test and the critical-difference diagram cannot be made, or None."""
    reasons = []
    if n_methods < MIN_METHODS:
        reasons.append(
            f"only {n_methods} summarizer{'s' if n_methods != 1 else ''} (the Friedman test needs at least "
            f"{MIN_METHODS})"
        )
    if n_datasets < MIN_DATASETS:
        reasons.append(
            f"only {n_datasets} dataset{'s' if n_datasets != 1 else ''} with a result for every summarizer "
            f"(a test across datasets needs at least {MIN_DATASETS}; Demšar 2006 recommends more than "
            f"{RULE_OF_THUMB_DATASETS})"
        )
    return " and ".join(reasons) or None


def iman_davenport(chi2: float, n_datasets: int, n_methods: int) -> tuple[float, float]:
    """Iman and Davenport's F_F = (N-1) chi2 / (N(k-1) - chi2) and its p from F(k-1, (k-1)(N-1)),
    the less conservative form of Friedman's statistic that Demšar (2006) recommends."""
    from scipy import stats

    n, k = n_datasets, n_methods
    denominator = n * (k - 1) - chi2
    if denominator <= 0:  # every dataset ranks the methods the same way
        return math.inf, 0.0
    ff = (n - 1) * chi2 / denominator
    return float(ff), float(stats.f.sf(ff, k - 1, (k - 1) * (n - 1)))


@dataclass(frozen=True)
class RankTest:
    """The Friedman test over datasets and the Nemenyi post-hoc test, for one complete matrix."""

    n_datasets: int
    n_methods: int
    average_ranks: pd.Series  # per summarizer, in the matrix's row order
    chi2: float  # Friedman chi-square, corrected for ties (scipy)
    p: float
    chi2_uncorrected: float  # the textbook formula from the average ranks (Demšar 2006, eq. in 3.2.2)
    ff: float  # Iman-Davenport F_F from the tie-corrected chi2
    ff_p: float
    nemenyi: pd.DataFrame  # pairwise p-values, summarizer x summarizer
    cd: float  # Nemenyi critical difference of average ranks at ``alpha``
    alpha: float

    def describe(self) -> str:
        return (
            f"Friedman test over {self.n_datasets} datasets and {self.n_methods} summarizers: "
            f"χ²_F = {self.chi2:.2f} (df {self.n_methods - 1}, corrected for ties), p = {self.p:.3g}; "
            f"Iman-Davenport F_F = {self.ff:.2f} (df {self.n_methods - 1}, "
            f"{(self.n_methods - 1) * (self.n_datasets - 1)}), p = {self.ff_p:.3g}. "
            f"Nemenyi post-hoc: critical difference {self.cd:.2f} average ranks at α = {self.alpha}."
        )


def rank_test(accuracy: pd.DataFrame, alpha: float = 0.05) -> RankTest:
    """Friedman + Nemenyi on a complete matrix (summarizers x datasets, no missing cells)."""
    import scikit_posthocs as sp
    from scipy import stats

    if accuracy.isna().any().any():
        raise ValueError("rank_test needs a complete matrix: drop the datasets or summarizers with missing cells")
    n_methods, n_datasets = accuracy.shape
    reason = why_not_tested(n_datasets, n_methods)
    if reason:
        raise ValueError(reason)
    ranks = ranks_per_dataset(accuracy)
    average = ranks.mean(axis=1)
    k, n = n_methods, n_datasets
    chi2_uncorrected = 12 * n / (k * (k + 1)) * (float((average**2).sum()) - k * (k + 1) ** 2 / 4)
    if (ranks.nunique(axis=0) == 1).all():  # all tied on every dataset: no evidence of any difference
        chi2, p = 0.0, 1.0
    else:
        result = stats.friedmanchisquare(*accuracy.to_numpy(dtype=float))
        chi2, p = float(result.statistic), float(result.pvalue)
    ff, ff_p = iman_davenport(chi2, n, k)
    nemenyi = sp.posthoc_nemenyi_friedman(accuracy.T.astype(float))  # blocks (datasets) as rows
    nemenyi.index = nemenyi.columns = list(accuracy.index)
    q_alpha = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    cd = float(q_alpha * math.sqrt(k * (k + 1) / (6 * n)))
    return RankTest(
        n_datasets=n,
        n_methods=k,
        average_ranks=average,
        chi2=chi2,
        p=p,
        chi2_uncorrected=float(chi2_uncorrected),
        ff=ff,
        ff_p=ff_p,
        nemenyi=nemenyi,
        cd=cd,
        alpha=alpha,
    )
