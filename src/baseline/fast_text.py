"""fastText (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"), supervised.

A linear model over the average of word and word-bigram embeddings (bigrams hashed into
``bucket`` rows), trained with SGD; the paper's sentiment runs use 10 dimensions, 5 epochs and
bigrams, the learning rate chosen on validation from {0.05, 0.1, 0.25, 0.5}. One thread by default:
fastText's threads update the weights without locks (Hogwild), so only one thread makes a run
repeat exactly under the same ``seed``. fastText is given ``seed + 1``: its random generator
(``std::minstd_rand``) replaces a seed of 0 by 1, so seeds 0 and 1 would train the same model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import fasttext
import numpy as np

from src.summarizers.base import ConfigError
from src.utils.errors import NumericsError

from .grid import one_of, positive_int, positive_number
from .splits import Split

LABEL = "__label__"


def _line(tokens: list[str]) -> str:
    """A text as fastText reads it; a word that starts like a label would be read as one, so it
    gets one more leading underscore."""
    return " ".join("_" + t if t.startswith(LABEL) else t for t in tokens)


def word_pairs_or_more(key: str, value) -> None:
    """fastText without word n-grams (and without subwords) keeps no hash rows (bucket 0), and in this
    build (fasttext-numpy2-wheel 0.9.2) such a model trains on garbage: on one small set, 8 repeated
    identical runs gave a NaN loss or a probability above 1, differently each time (docs/baselines.md).
    Refused rather than reported as a unigram baseline; NBSVM has one (``baseline.ngrams=1``)."""
    positive_int(key, value)
    if value < 2:
        raise ConfigError(
            f"{key}={value} is refused: this fastText build trains unigram models wrongly (NaN or "
            "probabilities above 1, different each run); for a unigram baseline use baseline=nbsvm baseline.ngrams=1"
        )


class FastTextModel:
    def __init__(self, model):
        self.model = model

    def predict(self, texts: list[list[str]]) -> np.ndarray:
        labels, _ = self.model.predict([_line(t) for t in texts], k=1)
        return np.asarray([int(label[0][len(LABEL) :]) for label in labels], dtype=np.int64)


class FastText:
    """The train split written once as a fastText file (``__label__<id> word word ...``) in a
    temporary folder of its own, removed with this object; ``fit`` trains one model on it per point
    of the grid."""

    SETTINGS = {
        "lr": positive_number,
        "epoch": positive_int,
        "dim": positive_int,
        "word_ngrams": word_pairs_or_more,
        "min_count": positive_int,
        "bucket": positive_int,
        "loss": one_of("softmax", "hs", "ova"),
        "threads": positive_int,
    }

    def __init__(self, train: Split, seed: int):
        self.folder = tempfile.TemporaryDirectory(prefix="fasttext-")
        self.path = Path(self.folder.name) / "train.txt"
        with open(self.path, "w", encoding="utf-8") as f:
            for tokens, label in zip(train.tokens, train.labels):
                f.write(f"{LABEL}{label} {_line(tokens)}\n")
        self.seed = seed

    def fit(
        self,
        lr: float = 0.1,
        epoch: int = 5,
        dim: int = 10,
        word_ngrams: int = 2,
        min_count: int = 1,
        bucket: int = 2_000_000,
        loss: str = "softmax",
        threads: int = 1,
    ) -> FastTextModel:
        try:
            model = fasttext.train_supervised(
                input=str(self.path),
                lr=float(lr),
                epoch=epoch,
                dim=dim,
                wordNgrams=word_ngrams,
                minCount=min_count,
                bucket=bucket,
                loss=loss,
                thread=threads,
                seed=self.seed + 1,  # its generator (minstd_rand) takes seed 0 as 1: seeds 0 and 1 were one run
                verbose=0,
            )
        except RuntimeError as exc:  # fastText's own check of its loss
            if "NaN" not in str(exc):
                raise
            raise NumericsError(f"fastText's loss became NaN with lr={lr}, epoch={epoch}, dim={dim}") from None
        return FastTextModel(model)
