"""The metric each dataset is judged by, and the majority-class score beside it.

A run's results.json may name its data config's metric (``metric``: accuracy, macro_f1 or mcc,
issue 24) and carry its test score under ``SCORE_KEYS`` (accuracy stays ``test/acc``); a run that
names none is judged by accuracy. ``add_scores`` puts both on every job row (``metric``,
``score``), so the statistics rank and test by ``score`` whatever the metric.

The majority-class row answers "how much of this score does always answering one class get?":
the score of always answering the train split's most frequent class, on the test split. The run
knows the train split, so it records it as ``test/majority_<suffix>`` (``test/majority_acc``,
``test/majority_macro_f1``, ``test/majority_mcc``). A run that does not (every run before issue
24) leaves the report to work it out from the test labels in ``predictions.csv`` with the test
split's most frequent class: never below the train-majority score (for accuracy and macro-F1 it
picks the class with the most test examples; MCC is 0 either way), and marked as such.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from src.model.majority import SCORE_KEYS, constant_score, majority_key
from src.utils.errors import UserError

DEFAULT_METRIC = "accuracy"
FALLBACK_KEYS = {"macro_f1": "test/f1"}  # the torchmetrics macro-F1 every run logs
LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "mcc": "MCC"}
MAJORITY_FROM_TRAIN, MAJORITY_FROM_TEST = "train", "test"


def add_scores(jobs: pd.DataFrame) -> pd.DataFrame:
    """``metric`` (accuracy where a job names none) and ``score`` (that metric's test value) on
    every row; a successful job whose metric is unknown or whose score is missing is bad input."""
    jobs = jobs.copy()
    metric = jobs["metric"] if "metric" in jobs else pd.Series(None, index=jobs.index, dtype=object)
    jobs["metric"] = metric.where(metric.notna() & (metric.astype(str) != ""), DEFAULT_METRIC).astype(str)
    scores = []
    for row in jobs.to_dict("records"):
        name, ok = row["metric"], row.get("status") == "ok"
        if name not in SCORE_KEYS:
            if ok:
                raise UserError(
                    f"{row['job']}/results.json: metric {name!r} is none of {', '.join(SCORE_KEYS)} "
                    "(set data.metric to one of them)"
                )
            scores.append(math.nan)
            continue
        keys = [SCORE_KEYS[name], *([FALLBACK_KEYS[name]] if name in FALLBACK_KEYS else [])]
        value = next((row[k] for k in keys if row.get(k) is not None and not pd.isna(row[k])), None)
        if value is None and ok:
            raise UserError(f"{row['job']}/results.json: metric {name} but no {' or '.join(keys)} value")
        scores.append(math.nan if value is None else float(value))
    jobs["score"] = scores
    return jobs


def dataset_metric(jobs: pd.DataFrame, dataset: str = "") -> str:
    """The one metric of a dataset's successful jobs; two different ones cannot be ranked together."""
    ok = jobs[jobs["status"] == "ok"]
    names = list(dict.fromkeys(ok["metric"])) if "metric" in ok else []
    if len(names) > 1:
        where = f"dataset {dataset}" if dataset else "the sweep"
        raise UserError(f"{where}: its jobs name different metrics ({', '.join(names)}); rerun them with one")
    return names[0] if names else DEFAULT_METRIC


def majority_row(jobs: pd.DataFrame, predictions: pd.DataFrame, metric: str) -> dict | None:
    """The majority-class score of one dataset's jobs, in its metric and in accuracy:
    ``{"score", "accuracy", "source"}``; None when neither the runs nor predictions.csv say it."""
    ok = jobs[jobs["status"] == "ok"]
    recorded = {}
    for name in dict.fromkeys([metric, "accuracy"]):
        key = majority_key(name)
        if key in ok and ok[key].notna().any():
            recorded[name] = float(ok[key].mean())  # the same value in every run unless the splits differ
    if metric in recorded:
        accuracy = recorded.get("accuracy", math.nan)
        return {"score": recorded[metric], "accuracy": accuracy, "source": MAJORITY_FROM_TRAIN}
    if predictions.empty or "label" not in predictions:
        return None
    scores = {name: [] for name in dict.fromkeys([metric, "accuracy"])}
    for _, job in predictions.groupby("job", sort=False):
        answer = job["label"].value_counts().idxmax()
        for name in scores:
            scores[name].append(constant_score(job["label"], answer, name))
    means = {name: float(np.mean(values)) for name, values in scores.items()}
    return {"score": means[metric], "accuracy": means["accuracy"], "source": MAJORITY_FROM_TEST}
