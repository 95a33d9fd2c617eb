"""Practical equivalence across datasets (issue 24 §5): for every pair of methods, the posterior
probabilities that A is better, that the two are practically equivalent (their difference within a
region of practical equivalence, the *rope*, default ±1 point), and that B is better.

The test is baycomp's Bayesian signed-rank test (Benavoli et al. 2014, "A Bayesian Wilcoxon
signed-rank test based on the Dirichlet process", ICML; ``baycomp.SignedRankTest``) on each
method's mean score per dataset (over seeds or seed×fold pairs), one value per dataset as the test
expects. baycomp's hierarchical test, which would use every seed's score, needs pystan (not a
dependency here: it compiles a Stan model per call) and runs MCMC per pair, far too slow for the
~100 pairs of 15 methods on a CPU; the signed-rank test takes about 0.1 s a pair with 10,000
posterior samples, whose Monte Carlo error (~0.002 at p = 0.95) is well below what the verdicts
need. Draws are seeded, so a report is reproducible.

Scores are each dataset's metric (``metrics``) in [0, 1]; the rope is in points of it (1 point =
0.01): on a set judged by MCC, 1 point of MCC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ROPE_POINTS = 1.0
THRESHOLD = 0.95  # a probability this high is a verdict
SAMPLES = 10_000
SEED = 0
MIN_DATASETS = 3  # as the rank test (ranking.MIN_DATASETS): with fewer the prior decides


@dataclass(frozen=True)
class Equivalence:
    """The pairwise posterior probabilities over ``n_datasets`` datasets."""

    pairs: pd.DataFrame  # a, b, p_a_better, p_equivalent, p_b_better, mean_diff (a - b, points)
    rope: float  # points
    n_datasets: int
    samples: int
    seed: int


def compare_pairs(
    scores: pd.DataFrame, rope: float = ROPE_POINTS, samples: int = SAMPLES, seed: int = SEED
) -> Equivalence:
    """``scores``: methods x datasets (a complete matrix of mean scores in [0, 1]); every unordered
    pair in row order, A the earlier row."""
    import baycomp

    if scores.isna().any().any():
        raise ValueError("compare_pairs needs a complete matrix: drop the datasets with missing cells")
    if scores.shape[1] < MIN_DATASETS:
        raise ValueError(f"compare_pairs needs at least {MIN_DATASETS} datasets, got {scores.shape[1]}")
    if rope <= 0:
        raise ValueError(f"the rope must be positive (points), got {rope}")
    # the seeded Dirichlet draws fall on datasets by position: one fixed order of columns makes a pair's
    # probabilities independent of the order in which a sweep (or several) happened to run its sets
    values = scores.reindex(columns=sorted(scores.columns, key=str)).to_numpy(dtype=float)
    methods = list(scores.index)
    rows = []
    for i, a in enumerate(methods):
        for j in range(i + 1, len(methods)):
            # baycomp's left is x (A) ahead by more than the rope, right is y (B) ahead
            left, within, right = baycomp.SignedRankTest.probs(
                values[i], values[j], rope=rope / 100, nsamples=samples, random_state=seed
            )
            rows.append(
                {
                    "a": a,
                    "b": methods[j],
                    "p_a_better": float(left),
                    "p_equivalent": float(within),
                    "p_b_better": float(right),
                    "mean_diff": float(100 * (values[i] - values[j]).mean()),
                }
            )
    return Equivalence(pd.DataFrame(rows), rope=rope, n_datasets=scores.shape[1], samples=samples, seed=seed)


def verdict(row: dict, threshold: float = THRESHOLD) -> str:
    if row["p_equivalent"] > threshold:
        return "equivalent"
    if row["p_a_better"] > threshold:
        return f"{row['a']} better"
    if row["p_b_better"] > threshold:
        return f"{row['b']} better"
    return "undecided"


def sentences(result: Equivalence, threshold: float = THRESHOLD) -> list[str]:
    """The plain answer: which pairs are practically equivalent, which differ, how many are open."""
    rows = result.pairs.to_dict("records")
    same = [r for r in rows if r["p_equivalent"] > threshold]
    differ = [r for r in rows if r["p_a_better"] > threshold or r["p_b_better"] > threshold]
    points = f"{result.rope:g} point{'s' if result.rope != 1 else ''}"
    lines = []
    if same:
        lines.append(
            f"Practically equivalent (P(difference within ±{points}) > {threshold}): "
            + "; ".join(f"{r['a']} and {r['b']} ({r['p_equivalent']:.3f})" for r in same)
            + "."
        )
    else:
        lines.append(f"No pair is practically equivalent (P(difference within ±{points}) > {threshold} for none).")
    if differ:

        def better(r: dict) -> str:
            ahead = r["p_a_better"] > threshold
            a, b, p = (r["a"], r["b"], r["p_a_better"]) if ahead else (r["b"], r["a"], r["p_b_better"])
            return f"{a} better than {b} ({p:.3f})"

        lines.append(
            f"Practically different (P(better by more than {points}) > {threshold}): "
            + "; ".join(map(better, differ))
            + "."
        )
    else:
        lines.append(f"No pair differs by more than {points} with probability above {threshold}.")
    undecided = len(rows) - len(same) - len(differ)
    if undecided:
        lines.append(
            f"The other {undecided} of {len(rows)} pairs are undecided: no probability above {threshold} "
            f"with {result.n_datasets} datasets."
        )
    return lines


def equivalence_table(result: Equivalence, threshold: float = THRESHOLD) -> str:
    from src.report.tables import _table

    rows = [
        [
            r["a"],
            r["b"],
            f"{r['mean_diff']:+.1f}",
            f"{r['p_a_better']:.3f}",
            f"{r['p_equivalent']:.3f}",
            f"{r['p_b_better']:.3f}",
            verdict(r, threshold),
        ]
        for r in result.pairs.to_dict("records")
    ]
    return _table(["A", "B", "mean A − B (pp)", "P(A better)", "P(equivalent)", "P(B better)", "verdict"], rows)


def probability_matrices(result: Equivalence) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(P(row better than column), P(row and column equivalent)) as methods x methods, NaN on the
    diagonal: the two panels of ``equivalence.png``."""
    methods = list(dict.fromkeys([*result.pairs["a"], *result.pairs["b"]]))
    better = pd.DataFrame(np.nan, index=methods, columns=methods)
    same = better.copy()
    for r in result.pairs.to_dict("records"):
        better.loc[r["a"], r["b"]], better.loc[r["b"], r["a"]] = r["p_a_better"], r["p_b_better"]
        same.loc[r["a"], r["b"]] = same.loc[r["b"], r["a"]] = r["p_equivalent"]
    return better, same
