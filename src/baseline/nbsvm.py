"""NBSVM (Wang & Manning 2012, "Baselines and Bigrams: Simple, Good Sentiment and Topic Classification").

The paper's SVM variant, on scikit-learn: binarized word n-grams x (``CountVectorizer``, unigrams
up to ``ngrams``), the naive Bayes log-count ratio r = log((p / |p|_1) / (q / |q|_1)) with
p = alpha + the counts over positive examples and q likewise over negative ones, a linear SVM
(``LinearSVC``: L2-regularized squared hinge loss, cost ``C``) on the scaled features r * x, and the
paper's interpolation w' = (1 - beta) * mean|w| + beta * w between naive Bayes (beta = 0) and the
SVM (beta = 1); the paper uses alpha = 1, C = 1, beta = 0.25. Two classes: one classifier;
more: one-vs-rest, each class with its own ratio, predicting the highest score.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.svm import LinearSVC

from src.data.sources import DataError

from .grid import positive_int, positive_number, unit_interval
from .splits import Split


def _same(tokens):
    return tokens


class NBSVMModel:
    def __init__(self, vectorizer: CountVectorizer, weights: np.ndarray, bias: np.ndarray, classes: np.ndarray):
        self.vectorizer, self.weights, self.bias, self.classes = vectorizer, weights, bias, classes

    def predict(self, texts: list[list[str]]) -> np.ndarray:
        score = self.vectorizer.transform(texts) @ self.weights + self.bias  # (texts, classifiers)
        if len(self.classes) == 2:
            return self.classes[(score[:, 0] > 0).astype(int)]
        return self.classes[score.argmax(axis=1)]


class NBSVM:
    """``fit`` trains one model on the train split per point of the grid, its features included (so
    that its ``train_seconds`` is the whole cost of that point)."""

    SETTINGS = {
        "ngrams": positive_int,
        "alpha": positive_number,
        "C": positive_number,
        "beta": unit_interval,
        "max_iter": positive_int,
    }

    def __init__(self, train: Split, seed: int):
        self.train, self.seed = train, seed
        self.classes = np.unique(train.labels)
        if len(self.classes) < 2:
            raise DataError(f"train holds one class only (label id {self.classes[0]}): nothing for NBSVM to separate")

    def features(self, ngrams: int) -> tuple[CountVectorizer, sp.csr_matrix]:
        vectorizer = CountVectorizer(
            analyzer="word",
            tokenizer=_same,
            preprocessor=_same,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, ngrams),
            binary=True,
        )
        return vectorizer, vectorizer.fit_transform(self.train.tokens).tocsr()

    def fit(self, ngrams: int = 2, alpha: float = 1.0, C: float = 1.0, beta: float = 0.25, max_iter: int = 1000):
        vectorizer, x = self.features(ngrams)
        positives = self.classes[1:] if len(self.classes) == 2 else self.classes
        weights, biases = [], []
        for positive in positives:
            y = self.train.labels == positive
            p = np.asarray(x[y].sum(axis=0)).ravel() + alpha
            q = np.asarray(x[~y].sum(axis=0)).ravel() + alpha
            r = np.log(p / p.sum()) - np.log(q / q.sum())
            svm = LinearSVC(C=C, max_iter=max_iter, random_state=self.seed).fit(x @ sp.diags(r), y)
            w = svm.coef_.ravel()
            interpolated = (1 - beta) * np.abs(w).mean() + beta * w
            weights.append(r * interpolated)  # on the binarized x directly: (r * x) . w' = x . (r * w')
            biases.append(svm.intercept_[0])
        return NBSVMModel(vectorizer, np.stack(weights, axis=1), np.asarray(biases), self.classes)
