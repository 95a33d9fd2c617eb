"""The benchmark's ratios: a paired ratio with its 95% interval, and the targets they are held to."""

from __future__ import annotations

import math

import numpy as np

TARGETS = {  # issues 5 and 15, as ratios on the 2-core CPU they were written for
    "avg_ch_over_lstm_hc": ("<=", 1.15),
    "lightning_over_plain": ("<=", 1.05),
    "padding_efficiency_bucketed": (">=", 0.90),
    "lstm_over_limit": ("<=", 1.0),  # the limit is a limit (src/bench/ceiling.py)
    "train_startup_s": ("<=", 10.0),
}


def paired_ratio(numerator: list[float], denominator: list[float]) -> dict:
    """A ratio of two timings taken in pairs (the same round or repeat, so drift hits both): the
    median of the paired ratios, and the 95% t-interval of their mean over the pairs."""
    from scipy import stats

    ratios = np.asarray(numerator) / np.asarray(denominator)
    n = len(ratios)
    if n < 2:
        return {"ratio": float(ratios[0]), "ci95": None, "pairs": n}
    half = stats.t.ppf(0.975, n - 1) * ratios.std(ddof=1) / math.sqrt(n)
    return {
        "ratio": float(np.median(ratios)),
        "ci95": [float(ratios.mean() - half), float(ratios.mean() + half)],
        "pairs": n,
    }


def ci_width(ratio: dict) -> float:
    return math.inf if ratio["ci95"] is None else ratio["ci95"][1] - ratio["ci95"][0]


def check_targets(results: dict) -> dict:
    """{key: True/False} for each target that was measured."""
    met = {}
    for key, (op, bound) in TARGETS.items():
        if results.get(key) is not None:
            met[key] = results[key] <= bound if op == "<=" else results[key] >= bound
    return met


def mark_narrow_intervals(results: dict, width: float) -> None:
    """``<ratio>_ci95_narrow``: whether the rounds brought the ratio's 95% interval within ``width``
    (--ci-width) or --max-rounds stopped them first, so a wide interval is said, not left to be
    worked out from its bounds."""
    results["ci_width"] = width
    for key in [k for k in results if k.endswith("_ci95")]:  # every measured ratio has one (None: one pair)
        interval = results[key]
        results[f"{key}_narrow"] = bool(interval) and interval[1] - interval[0] <= width
