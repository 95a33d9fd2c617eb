"""Synthetic, English-like sentiment data in which word order decides the label.

Why this exists: real sentiment corpora can mostly be solved from the bag of words,
so they cannot tell a mean-of-embeddings summarizer apart from an RNN or an LSTM.
Here half of the data (``order_dependent``) is made of *twin pairs*: two sentences
with exactly the same multiset of tokens and opposite labels. Any function of the
bag of words gets exactly 50% on those pairs, so whatever a summarizer scores above
chance there, it owes to word order. The other half (``order_free``) is solvable from
the bag of words alone and is the control: every summarizer should do well on it.

A ``long_range_fraction`` of the twin pairs end with a long neutral tail after the
deciding clause, so the decisive words are ``long_range_distance`` (default 20-50)
tokens from the end. At the default 5-60 tokens a vanilla RNN still bridges that gap;
``conf/data/synthetic_long.yaml`` (up to 200 tokens, 100-180 tokens after the
deciding words) is where short memory visibly fails and gated memory does not.

Every twin records its ``distance``: the tokens after its deciding adjective (1 when only the
final "." follows it). It travels to each test prediction, and the sweep report draws accuracy
on the twin pairs against it (``src.report.memory``): how far back each summarizer remembers.

The words and filler are in ``src.data.synthetic_lexicon``, the grammar that makes one sentence or
one twin pair in ``src.data.synthetic_sentences``; this module makes the splits from them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from numbers import Integral, Real

import datasets

from src.data.synthetic_lexicon import MIN_FILLER_COST
from src.data.synthetic_sentences import Rng, order_free_sentence, twin_pair
from src.summarizers.base import ConfigError

__all__ = ["LABEL_NAMES", "SUBSETS", "make_order_sentiment"]

LABEL_NAMES = ("negative", "positive")
SUBSETS = ("order_free", "order_dependent")

_SHORTEST_SENTENCE = 5  # "the plot was good ."
_SHORTEST_TWIN = 11  # "the plot was good , but the cast was dull ."
_SHORTEST_HEAD = 10  # "C1 , but C2" up to the deciding adjective
_MAX_ATTEMPTS = 10_000


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{name}={value!r} must be an integer >= {minimum}")


def _check_fraction(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={value!r} must be a number in [0, 1]")


def _check_distance(value) -> tuple[int, int]:
    """``long_range_distance`` as ``(lo, hi)``: integers with ``MIN_FILLER_COST + 1 <= lo <= hi``."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ConfigError(f"long_range_distance={value!r} must be a pair [lo, hi]") from None
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise ConfigError(f"long_range_distance={list(value)!r} must hold two integers")
    if not MIN_FILLER_COST + 1 <= lo <= hi:
        raise ConfigError(
            f"long_range_distance={[lo, hi]!r} needs {MIN_FILLER_COST + 1} <= lo <= hi "
            "(the tail is whole filler phrases)"
        )
    return int(lo), int(hi)


def _separate_twins(rng: Rng, items: list) -> None:
    """Shuffle in place, then break up adjacent twins, so a model that sees batches in
    file order cannot learn from a twin sitting next to its partner."""
    rng.shuffle(items)
    n = len(items)
    if n < 4:
        return
    for _ in range(_MAX_ATTEMPTS):
        bad = [i for i in range(n - 1) if items[i][3] is not None and items[i][3] == items[i + 1][3]]
        if not bad:
            return
        for i in bad:
            j = rng.randint(0, n - 1)
            items[i + 1], items[j] = items[j], items[i + 1]


def _make_split(
    rng: Rng,
    n: int,
    *,
    order_dependent_fraction: float,
    long_range_fraction: float,
    long_range_distance: tuple[int, int],
    min_length: int,
    max_length: int,
    seen: set,
    pair_ids: itertools.count,
) -> dict:
    n_dep = 2 * round(n * order_dependent_fraction / 2)
    if n_dep > n:
        n_dep -= 2
    n_pairs = n_dep // 2
    n_long = round(n_pairs * long_range_fraction)
    items = []  # (text, label, subset, pair_id, distance)

    for i in range(n_pairs):
        for _ in range(_MAX_ATTEMPTS):
            pair = twin_pair(rng, i < n_long, min_length, max_length, long_range_distance)
            if pair is None:
                continue
            texts = [" ".join(toks) for toks, _, _ in pair]
            if texts[0] in seen or texts[1] in seen:
                continue
            pid = next(pair_ids)
            for text, (_, label, distance) in zip(texts, pair):
                seen.add(text)
                items.append((text, label, "order_dependent", pid, distance))
            break
        else:
            raise RuntimeError("could not generate an order_dependent pair; relax the length limits")

    n_free = n - n_dep
    labels = [i % 2 for i in range(n_free)]
    rng.shuffle(labels)
    for label in labels:
        for _ in range(_MAX_ATTEMPTS):
            toks = order_free_sentence(rng, label, min_length, max_length)
            if toks is None:
                continue
            text = " ".join(toks)
            if text in seen:
                continue
            seen.add(text)
            items.append((text, label, "order_free", None, None))
            break
        else:
            raise RuntimeError("could not generate a new order_free example; too many duplicates")

    _separate_twins(rng, items)
    return {
        "text": [item[0] for item in items],
        "label": [item[1] for item in items],
        "subset": [item[2] for item in items],
        "distance": [item[4] for item in items],
    }


def make_order_sentiment(
    n_train: int = 4000,
    n_validation: int = 1000,
    n_test: int = 1000,
    order_dependent_fraction: float = 0.5,
    long_range_fraction: float = 0.3,
    min_length: int = 5,
    max_length: int = 60,
    long_range_distance: Sequence[int] = (20, 50),
    seed: int = 0,
) -> datasets.DatasetDict:
    """Generate the order-vs-bag-of-words sentiment benchmark (deterministic in ``seed``).

    Returns a ``DatasetDict`` with splits ``train`` / ``validation`` / ``test`` and
    columns ``text`` (lower-case, space-separated tokens), ``label``
    (``ClassLabel(["negative", "positive"])``), ``subset`` (``"order_free"`` or
    ``"order_dependent"``) and ``distance``: in a twin pair, the number of tokens after the
    deciding adjective (1 when it is followed only by the final "."; the long-range pairs'
    ``long_range_distance``), None in ``order_free`` examples, which have no deciding word.
    In each split, ``order_dependent_fraction`` of the examples
    (rounded to an even count) are twin pairs that share their token multiset and have
    opposite labels, both in that split; ``long_range_fraction`` of those pairs put
    ``long_range_distance = (lo, hi)`` tokens (uniform, inclusive) after the deciding
    adjective, all neutral but the final ".". Lengths (in tokens) are spread
    over ``[min_length, max_length]``; no text occurs twice in the whole dataset, so no
    test text is in train.
    """
    for name, value in (("n_train", n_train), ("n_validation", n_validation), ("n_test", n_test)):
        _check_int(name, value, 1)
    _check_fraction("order_dependent_fraction", order_dependent_fraction)
    _check_fraction("long_range_fraction", long_range_fraction)
    _check_int("seed", seed, 0)
    _check_int("min_length", min_length, _SHORTEST_SENTENCE)
    _check_int("max_length", max_length, min_length)
    if order_dependent_fraction > 0 and max_length < _SHORTEST_TWIN:
        raise ConfigError(f"max_length={max_length} must be >= {_SHORTEST_TWIN} for order_dependent examples")
    distance = _check_distance(long_range_distance)
    if order_dependent_fraction > 0 and long_range_fraction > 0 and max_length < _SHORTEST_HEAD + distance[0]:
        raise ConfigError(
            f"max_length={max_length} must be >= {_SHORTEST_HEAD + distance[0]} for long-range "
            f"examples ({_SHORTEST_HEAD} tokens + long_range_distance {distance[0]})"
        )

    rng = Rng(int(seed))
    seen: set = set()
    pair_ids = itertools.count()
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(LABEL_NAMES)),
            "subset": datasets.Value("string"),
            "distance": datasets.Value("int32"),
        }
    )
    splits = {}
    for split, n in (("train", n_train), ("validation", n_validation), ("test", n_test)):
        columns = _make_split(
            rng,
            int(n),
            order_dependent_fraction=float(order_dependent_fraction),
            long_range_fraction=float(long_range_fraction),
            long_range_distance=distance,
            min_length=int(min_length),
            max_length=int(max_length),
            seen=seen,
            pair_ids=pair_ids,
        )
        splits[split] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(splits)
