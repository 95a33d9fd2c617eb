"""The scores of a baseline's predictions, defined as ``src.train`` defines its own.

``acc`` is micro accuracy and ``f1`` macro-F1 over the classes present in the labels or the
predictions, with 0 for a class never predicted: what torchmetrics' ``MulticlassAccuracy`` and
``MulticlassF1Score(average="macro")`` give in ``src.model.module`` (a test checks they agree).
A data config may name the metric its set is judged by (``data.metric``): one of ``METRICS``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from src.summarizers.base import ConfigError

METRICS = {
    "accuracy": accuracy_score,
    "macro_f1": lambda labels, preds: f1_score(labels, preds, average="macro", zero_division=0),
    "mcc": matthews_corrcoef,
}


def check_metric(name) -> str:
    """``name`` if it is one of ``METRICS``, else a one-line ConfigError."""
    if name not in METRICS:
        raise ConfigError(f"data.metric must be one of {', '.join(METRICS)}, got {name!r}")
    return name


def scores(labels: np.ndarray, preds: np.ndarray, metric: str | None = None) -> dict[str, float]:
    """``acc`` and ``f1`` (macro), plus ``metric`` under its own name when one is named."""
    out = {"acc": float(METRICS["accuracy"](labels, preds)), "f1": float(METRICS["macro_f1"](labels, preds))}
    if metric is not None:
        out[metric] = float(METRICS[metric](labels, preds))
    return out
