"""The metric a data set is judged by (``data.metric``), beside the accuracy and macro-F1 every run logs.

Accuracy is blind on an imbalanced set (always answering the majority class of a 70/30 set scores
70%), so a data config may name another: ``accuracy`` (the default; the classic suite stays on it),
``macro_f1`` (F1 averaged over the classes, each class weighing the same) or ``mcc`` (Matthews
correlation, as GLUE scores grammaticality: 0 for a constant answer, 1 for a perfect one).
The model logs it as ``val/<metric>`` and ``test/<metric>``; ``results.json`` records ``metric`` and
``test/<metric>``; checkpoints and early stopping follow ``val/<metric>`` (:func:`monitor`), except
that accuracy keeps its historical key ``val/acc``, so runs on accuracy select and resume as before.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MulticlassMatthewsCorrCoef

from src.summarizers.base import ConfigError

METRICS = ("accuracy", "macro_f1", "mcc")


def check_metric(name) -> str:
    """``name`` when it is one of :data:`METRICS`, else a one-line ConfigError."""
    if name not in METRICS:
        raise ConfigError(f"data.metric must be one of {', '.join(METRICS)}, got {name!r}")
    return name


class MatthewsCorrCoef(MulticlassMatthewsCorrCoef):
    """Matthews correlation over K classes (Gorodkin's R_K) as scikit-learn, and so GLUE, computes it:
    0 when the answers or the labels are constant. torchmetrics' own gives two classes a limit value
    instead (its "eps" fix): a constant majority answer on a 70/30 set would score 0.28, not 0."""

    def compute(self) -> torch.Tensor:
        confmat = self.confmat.double()
        true, pred = confmat.sum(dim=1), confmat.sum(dim=0)
        correct, total = confmat.trace(), confmat.sum()
        covariance = correct * total - (true * pred).sum()
        spread = (total**2 - (pred * pred).sum()) * (total**2 - (true * true).sum())
        return torch.where(spread > 0, covariance / spread.clamp_min(1).sqrt(), 0.0).float()


def make_metric(name: str, num_classes: int) -> Metric:
    """A fresh torchmetrics object computing ``name`` over ``num_classes`` classes."""
    factories = {
        "accuracy": lambda: MulticlassAccuracy(num_classes=num_classes, average="micro"),
        "macro_f1": lambda: MulticlassF1Score(num_classes=num_classes, average="macro"),
        "mcc": lambda: MatthewsCorrCoef(num_classes=num_classes),
    }
    return factories[check_metric(name)]()


def monitor(name: str) -> str:
    """The validation key checkpoints, early stopping and the LR scheduler follow for ``name``."""
    return "val/acc" if name == "accuracy" else f"val/{check_metric(name)}"
