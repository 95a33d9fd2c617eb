"""Tests for the order-vs-bag-of-words sentiment generator.

They check values, not shapes: that the labels follow the grammar (an independent
hand-written parser gets 100%), that bag-of-words information provably cannot solve
the order_dependent subset (twins share their multiset) while it fully solves the
order_free one, and that lengths / long-range distances / splits are as promised.
"""

from __future__ import annotations

import collections
import time

import datasets
import pytest

from src.data.synthetic import SUBSETS, make_order_sentiment
from src.data.synthetic_lexicon import (
    FILLER_PHRASES,
    INTENSIFIERS,
    NEGATIVE_ADJECTIVES,
    NOUNS,
    POSITIVE_ADJECTIVES,
    VERBS,
)

POLARITY = {**{a: 1 for a in POSITIVE_ADJECTIVES}, **{a: -1 for a in NEGATIVE_ADJECTIVES}}
SPLITS = ("train", "validation", "test")
SMALL = dict(n_train=300, n_validation=100, n_test=100)


@pytest.fixture(scope="module")
def ds() -> datasets.DatasetDict:
    return make_order_sentiment()


def rows(ds, split, subset=None):
    d = ds[split].to_dict()  # plain lists: column objects are slow to index
    return [(t, lab, s) for t, lab, s in zip(d["text"], d["label"], d["subset"]) if subset is None or s == subset]


def multiset(text: str) -> tuple[str, ...]:
    return tuple(sorted(text.split()))


def parse(text: str) -> tuple[int, int]:
    """Hand-written reading of the grammar -> (label, tokens after the deciding adjective).

    Written independently of the generator: each sentiment adjective is a clause,
    negated iff preceded by "not"; after "but" the second clause decides; with
    "although" the clause *not* introduced by "although" decides; otherwise all
    clauses must agree.
    """
    toks = text.split()
    clauses = [(i, POLARITY[t] * (-1 if toks[i - 1] == "not" else 1)) for i, t in enumerate(toks) if t in POLARITY]
    assert clauses, text
    if "but" in toks:
        assert "although" not in toks and len(clauses) == 2, text
        b = toks.index("but")
        i, pol = next(c for c in clauses if c[0] > b)
    elif "although" in toks:
        assert len(clauses) == 2, text
        a = toks.index("although")
        sub = next(c for c in clauses if c[0] > a)
        i, pol = next(c for c in clauses if c != sub)
    else:
        assert len({p for _, p in clauses}) == 1, text
        i, pol = clauses[-1]
    return (1 if pol > 0 else 0), len(toks) - 1 - i


def bag_score(text: str) -> int:
    """A bag-of-words 'counting' classifier: sum of adjective polarities, flipped by the
    parity of the number of "not" tokens. Depends on the multiset only."""
    toks = text.split()
    score = sum(POLARITY.get(t, 0) for t in toks) * (-1) ** toks.count("not")
    return 1 if score >= 0 else 0


# --------------------------------------------------------------------------- basics
def test_deterministic_for_a_seed_and_different_across_seeds():
    a = make_order_sentiment(**SMALL, seed=3)
    b = make_order_sentiment(**SMALL, seed=3)
    c = make_order_sentiment(**SMALL, seed=4)
    for split in SPLITS:
        assert a[split].to_dict() == b[split].to_dict()
        assert a[split]["text"] != c[split]["text"]
        assert len(set(a[split]["text"]) & set(c[split]["text"])) < len(a[split]) // 10


def test_splits_columns_and_features(ds):
    assert {s: len(ds[s]) for s in ds} == {"train": 4000, "validation": 1000, "test": 1000}
    for split in SPLITS:
        assert ds[split].column_names == ["text", "label", "subset", "distance"]
        label = ds[split].features["label"]
        assert isinstance(label, datasets.ClassLabel)
        assert label.names == ["negative", "positive"]
        assert set(ds[split]["subset"]) == set(SUBSETS)
        assert collections.Counter(ds[split]["label"]) == {0: len(ds[split]) // 2, 1: len(ds[split]) // 2}
        for text in ds[split]["text"]:
            assert text == text.lower() and text == " ".join(text.split()) and text.endswith(" ."), text


def test_generation_is_fast():
    start = time.perf_counter()
    make_order_sentiment()
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- order_dependent
def test_every_order_dependent_example_has_an_opposite_twin_in_its_split(ds):
    for split in SPLITS:
        dep = rows(ds, split, "order_dependent")
        assert len(dep) / len(ds[split]) >= 0.4
        by_bag = collections.defaultdict(collections.Counter)
        for text, label, _ in dep:
            by_bag[multiset(text)][label] += 1
        # every multiset group is a union of twin pairs: as many positives as negatives
        for bag, counts in by_bag.items():
            assert counts[0] == counts[1] >= 1, (bag, counts)


def test_twins_are_not_adjacent(ds):
    for split in SPLITS:
        texts, subsets = list(ds[split]["text"]), list(ds[split]["subset"])
        for i in range(len(texts) - 1):
            if subsets[i] == subsets[i + 1] == "order_dependent":
                assert multiset(texts[i]) != multiset(texts[i + 1]), (texts[i], texts[i + 1])


def test_order_dependent_clauses_have_opposite_polarity(ds):
    for text, _, _ in rows(ds, "train", "order_dependent"):
        toks = text.split()
        pols = [POLARITY[t] * (-1 if toks[i - 1] == "not" else 1) for i, t in enumerate(toks) if t in POLARITY]
        assert sorted(pols) == [-1, 1], text
        assert ("but" in toks) != ("although" in toks), text


def test_some_deciding_clauses_are_far_from_the_end(ds):
    dist = [parse(t)[1] for t, _, _ in rows(ds, "train", "order_dependent")]
    far = [d for d in dist if d >= 20]
    assert 0.25 <= len(far) / len(dist) <= 0.35  # long_range_fraction=0.3
    assert max(dist) <= 50
    assert min(far) < 25 and max(far) >= 45  # spread over 20-50
    # and without long-range pairs the deciding clause is always close to the end
    short = make_order_sentiment(**SMALL, long_range_fraction=0.0)
    assert max(parse(t)[1] for t, _, _ in rows(short, "train", "order_dependent")) < 20


def test_long_range_distance_is_configurable_and_exact():
    d = make_order_sentiment(**SMALL, max_length=200, long_range_distance=[100, 180])
    dep = [t for split in SPLITS for t, _, _ in rows(d, split, "order_dependent")]
    far = sorted(parse(t)[1] for t in dep if parse(t)[1] >= 20)
    assert 0.25 <= len(far) / len(dep) <= 0.35
    assert far[0] >= 100 and far[-1] <= 180
    assert far[0] < 110 and far[-1] > 170  # spread over the whole range
    assert max(len(t.split()) for split in SPLITS for t in d[split]["text"]) <= 200
    for split in SPLITS:  # still the same grammar and the same twins
        for text, label, _ in rows(d, split):
            assert parse(text)[0] == label, text


def test_the_long_config_composes_to_long_sentences():
    from hydra.utils import instantiate

    from tests.helpers import compose_train_config

    cfg = compose_train_config(
        ["data=synthetic_long", "data.source.n_train=100", "data.source.n_validation=50", "data.source.n_test=50"]
    )
    assert cfg.data.name != compose_train_config([]).data.name  # kept apart in results and caches
    d = instantiate(cfg.data.source)()
    lengths = [len(t.split()) for split in SPLITS for t in d[split]["text"]]
    assert max(lengths) > 150 and max(lengths) <= 200
    far = [parse(t)[1] for t, _, _ in rows(d, "train", "order_dependent")]
    assert max(far) >= 100


# --------------------------------------------------------------------------- order_free
def test_order_free_is_a_function_of_the_bag_of_words(ds):
    labels_by_bag = collections.defaultdict(set)
    for split in SPLITS:
        for text, label, _ in rows(ds, split, "order_free"):
            toks = text.split()
            assert "but" not in toks and "although" not in toks, text
            labels_by_bag[multiset(text)].add(label)
            # several clauses never carry a negation (so no rearrangement flips the label)
            if sum(t in POLARITY for t in toks) > 1:
                assert "not" not in toks, text
    assert all(len(labels) == 1 for labels in labels_by_bag.values())


# --------------------------------------------------------------------------- lengths, leakage
def test_lengths_in_range_and_spread(ds):
    lengths = [len(t.split()) for split in SPLITS for t in ds[split]["text"]]
    assert min(lengths) >= 5 and max(lengths) <= 60
    assert any(n < 12 for n in lengths) and any(n > 45 for n in lengths)
    custom = make_order_sentiment(**SMALL, min_length=20, max_length=40)
    lengths = [len(t.split()) for split in SPLITS for t in custom[split]["text"]]
    assert min(lengths) == 20 and max(lengths) == 40


def test_no_test_text_in_train_and_no_duplicates(ds):
    train = set(ds["train"]["text"])
    assert not train & set(ds["test"]["text"])
    assert not train & set(ds["validation"]["text"])
    all_texts = [t for split in SPLITS for t in ds[split]["text"]]
    assert len(set(all_texts)) == len(all_texts)


def test_filler_is_neutral():
    words = {t for phrase in FILLER_PHRASES for t in phrase}
    clause_words = set(POLARITY) | set(NOUNS) | set(VERBS) | set(INTENSIFIERS)
    assert not words & (clause_words | {"not", "but", "although", "and"})


# --------------------------------------------------------------------------- the point
def test_bag_of_words_is_at_chance_on_order_dependent_but_solves_order_free(ds):
    # per-multiset majority label learned on train, counting classifier as fallback
    votes = collections.defaultdict(collections.Counter)
    for text, label, _ in rows(ds, "train"):
        votes[multiset(text)][label] += 1

    def bow_predict(text):
        c = votes.get(multiset(text))
        if c and c[0] != c[1]:
            return 0 if c[0] > c[1] else 1
        return bag_score(text)

    dep = rows(ds, "test", "order_dependent")
    free = rows(ds, "test", "order_free")
    for predict in (bow_predict, bag_score):
        acc_dep = sum(predict(t) == y for t, y, _ in dep) / len(dep)
        # twins share the multiset, so any bag-of-words function is right on exactly one of them
        assert acc_dep == pytest.approx(0.5) and acc_dep <= 0.55
    assert sum(bag_score(t) == y for t, y, _ in free) / len(free) == 1.0


def test_hand_written_rule_labels_everything_correctly(ds):
    for split in SPLITS:
        for text, label, _ in rows(ds, split):
            assert parse(text)[0] == label, text


# --------------------------------------------------------------------------- arguments
def test_fraction_extremes_keep_twins_together():
    d = make_order_sentiment(n_train=7, n_validation=3, n_test=2, order_dependent_fraction=1.0)
    assert collections.Counter(d["train"]["subset"]) == {"order_dependent": 6, "order_free": 1}
    assert d["test"]["subset"] == ["order_dependent"] * 2
    d = make_order_sentiment(**SMALL, order_dependent_fraction=0.0)
    assert set(d["train"]["subset"]) == {"order_free"}


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_train": 0}, "n_train"),
        ({"n_validation": -1}, "n_validation"),
        ({"n_test": 2.5}, "n_test"),
        ({"order_dependent_fraction": 1.5}, "order_dependent_fraction"),
        ({"long_range_fraction": -0.1}, "long_range_fraction"),
        ({"min_length": 3}, "min_length"),
        ({"min_length": 30, "max_length": 20}, "max_length"),
        ({"max_length": 25}, "max_length"),  # too short for long-range pairs
        ({"max_length": 100, "long_range_distance": [100, 180]}, "max_length"),
        ({"long_range_distance": [50, 20]}, "long_range_distance"),
        ({"long_range_distance": [2, 50]}, "long_range_distance"),  # shorter than one filler phrase
        ({"long_range_distance": 30}, "long_range_distance"),
        ({"long_range_distance": [20.5, 50]}, "long_range_distance"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}="):
        make_order_sentiment(**kwargs)
