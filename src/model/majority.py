"""The majority-class score: what always answering the train split's most frequent class scores on
the test split, in accuracy and in the set's own metric (``data.metric``).

It says how much of a score needs no model at all (70 on a 70/30 set), so ``src.train`` and
``src.baseline`` record it in ``results.json`` as ``test/majority_acc`` and
``test/majority_<metric>`` (``test/majority_macro_f1``, ``test/majority_mcc``), and the report
prints it beneath each set's column (``src.report.metrics``). Scores are scikit-learn's, as the
report's and the baselines' are.
"""

from __future__ import annotations

import numpy as np

SCORE_KEYS = {"accuracy": "test/acc", "macro_f1": "test/macro_f1", "mcc": "test/mcc"}


def majority_key(metric: str) -> str:
    """``test/majority_acc`` for accuracy, ``test/majority_<metric>`` for the others."""
    return "test/majority_" + SCORE_KEYS[metric].removeprefix("test/")


def constant_score(labels, answer, metric: str) -> float:
    """The score of answering ``answer`` for every example with true ``labels`` (over the classes
    present in ``labels``, for macro-F1)."""
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    labels = np.asarray(labels)
    predictions = np.full(len(labels), answer, dtype=labels.dtype)
    if metric == "accuracy":
        return float(accuracy_score(labels, predictions))
    if metric == "macro_f1":
        return float(f1_score(labels, predictions, average="macro", labels=np.unique(labels), zero_division=0))
    return float(matthews_corrcoef(labels, predictions))


def majority_class(train_labels) -> int:
    """The train split's most frequent class (the smallest id among equally frequent ones)."""
    counts = np.bincount(np.asarray(train_labels, dtype=np.int64))
    return int(counts.argmax())


def majority_scores(train_labels, test_labels, metric: str = "accuracy") -> dict[str, float]:
    """``{test/majority_acc: ..., test/majority_<metric>: ...}`` of the train majority on the test labels."""
    answer = majority_class(train_labels)
    names = dict.fromkeys(["accuracy", metric])
    return {majority_key(name): constant_score(test_labels, answer, name) for name in names}
