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
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from numbers import Integral, Real

import datasets

from src.summarizers.base import ConfigError

__all__ = [
    "CONNECTIVES",
    "DETERMINERS",
    "FILLER_PHRASES",
    "INTENSIFIERS",
    "LABEL_NAMES",
    "NEGATION",
    "NEGATIVE_ADJECTIVES",
    "NOUNS",
    "POSITIVE_ADJECTIVES",
    "SUBSETS",
    "VERBS",
    "make_order_sentiment",
]

LABEL_NAMES = ("negative", "positive")
SUBSETS = ("order_free", "order_dependent")

# --------------------------------------------------------------------------- lexicon
POSITIVE_ADJECTIVES = (
    "good",
    "great",
    "excellent",
    "brilliant",
    "wonderful",
    "superb",
    "delightful",
    "charming",
    "gripping",
    "moving",
    "clever",
    "stunning",
    "beautiful",
    "engaging",
    "memorable",
    "witty",
    "elegant",
    "powerful",
    "lovely",
    "inventive",
    "compelling",
    "terrific",
    "fantastic",
    "impressive",
    "enjoyable",
)
NEGATIVE_ADJECTIVES = (
    "bad",
    "dull",
    "awful",
    "terrible",
    "boring",
    "weak",
    "clumsy",
    "tedious",
    "bland",
    "messy",
    "lifeless",
    "forgettable",
    "poor",
    "stale",
    "flat",
    "shallow",
    "dreadful",
    "lazy",
    "painful",
    "predictable",
    "sloppy",
    "tiresome",
    "wooden",
    "mediocre",
    "annoying",
)
# Singular only, so every verb agrees with every noun.
NOUNS = (
    "plot",
    "acting",
    "script",
    "soundtrack",
    "cast",
    "pacing",
    "dialogue",
    "ending",
    "direction",
    "cinematography",
    "score",
    "editing",
    "story",
    "lead",
    "villain",
    "humor",
    "premise",
    "finale",
    "writing",
    "performance",
    "setting",
    "opening",
    "climax",
    "screenplay",
    "atmosphere",
)
DETERMINERS = ("the", "this", "its", "that")
VERBS = ("was", "is", "felt", "seemed", "remained")
INTENSIFIERS = (
    "really",
    "truly",
    "quite",
    "very",
    "rather",
    "remarkably",
    "genuinely",
    "pretty",
    "simply",
)
NEGATION = "not"
CONNECTIVES = ("but", "although", "and")

# "the plot was really not good" reads as English, "the plot felt quite not good" does
# not: a clause that carries (or may receive, in its twin) "not" uses only these.
_NEGATABLE_VERBS = ("was", "is")
_NEGATABLE_INTENSIFIERS = ("really", "truly", "simply")

_POLARITY = {**{a: 1 for a in POSITIVE_ADJECTIVES}, **{a: -1 for a in NEGATIVE_ADJECTIVES}}
_ADJECTIVES_BY_POLARITY = {1: POSITIVE_ADJECTIVES, -1: NEGATIVE_ADJECTIVES}


def _expand(template: str, **slots: tuple[str, ...]) -> list[str]:
    """All fillings of ``template`` (``{name}`` slots) with the given alternatives."""
    names = list(slots)
    return [template.format(**dict(zip(names, combo))) for combo in itertools.product(*(slots[n] for n in names))]


_PLACES = (
    "lisbon",
    "berlin",
    "northern canada",
    "a small fishing village",
    "rural ireland",
    "the south of france",
    "two different countries",
)
_TIMES = ("last spring", "last fall", "this year", "in march", "two years ago", "over the holidays")
_RELATIVES = ("sister", "brother", "neighbor", "roommate", "uncle", "cousin", "coworker")
_WHEN = (
    "on a sunday night",
    "on a weekday afternoon",
    "on a flight to tokyo",
    "at the local multiplex",
    "on a small laptop screen",
)

# Neutral filler: no sentiment adjective, no negation, no connective and none of the
# clause vocabulary (nouns, verbs, intensifiers), so it can change a sentence's
# length and the distance between clues without ever changing its label.
_FILLER_TEXTS = [
    "on video",
    "in theaters",
    "on television",
    "with subtitles",
    "last weekend",
    "at home",
    "at a premiere",
    "at a festival",
    "as far as i remember",
    "from what i recall",
    "over the holiday weekend",
    "in its original language with subtitles",
    *_expand("with a running time of {n} hours", n=("two", "three", "about two", "nearly three")),
    *_expand("with a running time of {n} minutes", n=("ninety", "about ninety", "eighty")),
    *_expand("released {t}", t=_TIMES),
    *_expand(
        "released {t} in {v}",
        t=_TIMES,
        v=("a handful of theaters", "a few cities", "most countries", "a handful of theaters across the country"),
    ),
    *_expand("shot on location in {p}", p=_PLACES),
    *_expand(
        "based on a {s}",
        s=(
            "novel",
            "memoir",
            "comic book",
            "radio play",
            "newspaper article",
            "novel from the sixties",
            "comic book from the nineties",
        ),
    ),
    *_expand(
        "directed by a {d}",
        d=("newcomer", "former photographer", "director from berlin", "former music video director"),
    ),
    *_expand(
        "set in {s} during {p}",
        s=("a small town", "a coastal city", "a remote island"),
        p=("the winter", "the late seventies", "a heat wave"),
    ),
    *_expand("which i {v} {w}", v=("watched", "saw"), w=_WHEN),
    *_expand("which i {v} with my {r}", v=("watched", "saw"), r=_RELATIVES),
    *_expand("according to my {r}", r=_RELATIVES),
    *_expand("which my {r} picked for movie night", r=_RELATIVES),
    *_expand("produced by a small studio in {p}", p=_PLACES),
    *_expand(
        "starring a {g} of {f}",
        g=("group", "handful", "mix"),
        f=("familiar faces", "newcomers", "former child actors", "stage actors"),
    ),
    *_expand("with music by a {n} composer", n=("french", "young", "local", "classical")),
    *_expand("made on a budget of {a} million dollars", a=("two", "five", "about five", "roughly twenty")),
    *_expand("shown at a film festival in {p}", p=("berlin", "toronto", "venice")),
    *_expand("which came out {t}", t=_TIMES),
]
FILLER_PHRASES: tuple[tuple[str, ...], ...] = tuple(sorted({tuple(t.split()) for t in _FILLER_TEXTS}))

# Relative clauses ("which i saw ...") only read well after the clause they attach to.
_FILLER_BY_LENGTH = {  # position -> phrase length -> phrases
    "suffix": {n: tuple(p for p in FILLER_PHRASES if len(p) == n) for n in sorted({len(p) for p in FILLER_PHRASES})},
    "prefix": {
        n: tuple(p for p in FILLER_PHRASES if len(p) == n and p[0] != "which")
        for n in sorted({len(p) for p in FILLER_PHRASES})
    },
}
# A filler phrase always travels with one comma, so it costs len(phrase) + 1 tokens.
_MIN_COST = min(_FILLER_BY_LENGTH["suffix"]) + 1
_MAX_COST = max(_FILLER_BY_LENGTH["suffix"]) + 1
assert all(
    set(by_len) == set(range(_MIN_COST - 1, _MAX_COST)) and all(by_len.values())
    for by_len in _FILLER_BY_LENGTH.values()
), "every filler length must be available"

_SHORTEST_SENTENCE = 5  # "the plot was good ."
_SHORTEST_TWIN = 11  # "the plot was good , but the cast was dull ."
_SHORTEST_HEAD = 10  # "C1 , but C2" up to the deciding adjective
_MAX_ATTEMPTS = 10_000


# --------------------------------------------------------------------------- helpers
class _Rng:
    """Thin wrapper over ``random.Random``: its ``random()`` stream is stable across
    Python versions and ~10x cheaper per draw than numpy's, which keeps the default
    dataset well under a second. Never touches global random state."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def coin(self, p: float) -> bool:
        return self._r.random() < p

    def pick(self, seq):
        return seq[int(self._r.random() * len(seq))]

    def randint(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi] (inclusive)."""
        return lo + int(self._r.random() * (hi - lo + 1))

    def sample(self, seq, k: int):
        return self._r.sample(seq, k)

    def shuffle(self, lst: list) -> None:
        self._r.shuffle(lst)


def _fillable(n: int) -> bool:
    """Whether exactly ``n`` tokens can be made of comma-attached filler phrases."""
    return n == 0 or n >= _MIN_COST


def _filler(rng: _Rng, cost: int, position: str, openers: set) -> list[tuple[str, ...]]:
    """Filler phrases whose total cost (phrase tokens + one comma each) is exactly ``cost``.

    ``openers`` (shared by all filler of one sentence) steers away from repeating a
    phrase type ("released ..., released ...") when another choice exists.
    """
    by_len = _FILLER_BY_LENGTH[position]
    phrases = []
    while cost > 0:
        for attempt in range(20):
            if cost <= _MAX_COST and (attempt < 10 or cost < 2 * _MIN_COST):
                c = cost  # finish with one phrase if we can
            else:
                c = rng.randint(_MIN_COST, min(_MAX_COST, cost - _MIN_COST))
            phrase = rng.pick(by_len[c - 1])
            if phrase[0] not in openers:
                break
        openers.add(phrase[0])
        phrases.append(phrase)
        cost -= c
    return phrases


def _prefix(phrases) -> list[str]:
    return [tok for p in phrases for tok in (*p, ",")]


def _suffix(phrases) -> list[str]:
    return [tok for p in phrases for tok in (",", *p)]


class _Skeleton:
    """A clause minus its negation, so twins can move "not" without changing anything else."""

    __slots__ = ("det", "noun", "verb", "intensifier", "adj")

    def __init__(self, rng: _Rng, noun: str, adj: str, negatable: bool) -> None:
        self.det = rng.pick(DETERMINERS)
        self.noun = noun
        self.verb = rng.pick(_NEGATABLE_VERBS if negatable else VERBS)
        self.intensifier = rng.pick(_NEGATABLE_INTENSIFIERS if negatable else INTENSIFIERS) if rng.coin(0.3) else None
        self.adj = adj

    def render(self, negated: bool) -> list[str]:
        toks = [self.det, self.noun, self.verb]
        if self.intensifier:
            toks.append(self.intensifier)
        if negated:
            toks.append(NEGATION)
        toks.append(self.adj)
        return toks


def _clause(rng: _Rng, noun: str, polarity: int, negated: bool, used_adjs: set) -> list[str]:
    """DET NOUN VERB [INTENSIFIER] [not] ADJ whose polarity (after "not") is ``polarity``."""
    adj_pol = -polarity if negated else polarity
    adj = rng.pick(_ADJECTIVES_BY_POLARITY[adj_pol])
    while adj in used_adjs:
        adj = rng.pick(_ADJECTIVES_BY_POLARITY[adj_pol])
    used_adjs.add(adj)
    return _Skeleton(rng, noun, adj, negatable=negated).render(negated)


def _target_length(rng: _Rng, base: int, min_length: int, max_length: int) -> int | None:
    """A total length uniform over what ``base`` tokens plus exact filler can reach."""
    lo = max(min_length, base)
    if lo > max_length:
        return None
    for _ in range(100):
        total = rng.randint(lo, max_length)
        if _fillable(total - base):
            return total
    return None


# --------------------------------------------------------------------------- examples
def _order_free(rng: _Rng, label: int, min_length: int, max_length: int) -> list[str] | None:
    """One bag-of-words-solvable sentence: a single (maybe negated) clause, or several
    same-polarity clauses *without* negation, so no rearrangement of its tokens can
    read as the opposite label. Never "but" / "although"."""
    polarity = 1 if label == 1 else -1
    used: set = set()
    if rng.coin(0.5):
        body = _clause(rng, rng.pick(NOUNS), polarity, rng.coin(0.35), used)
    else:
        k = rng.pick((2, 2, 3, 3, 4))
        nouns = rng.sample(NOUNS, k)
        body = _clause(rng, nouns[0], polarity, False, used)
        for i, noun in enumerate(nouns[1:], start=2):
            if i == k:
                joiner = rng.pick((["and"], ["and"], ["and"], [",", "and"], [","]))
            else:
                joiner = rng.pick(([","], [","], ["and"]))
            body += joiner + _clause(rng, noun, polarity, False, used)
    base = len(body) + 1  # final "."
    total = _target_length(rng, base, min_length, max_length)
    if total is None:
        return None
    pad = total - base
    if pad >= 2 * _MIN_COST and rng.coin(0.4):
        front = rng.randint(_MIN_COST, pad - _MIN_COST)
    else:
        front = pad if rng.coin(0.5) else 0
    openers: set = set()
    return (
        _prefix(_filler(rng, front, "prefix", openers))
        + body
        + _suffix(_filler(rng, pad - front, "suffix", openers))
        + ["."]
    )


def _opposite_clauses(rng: _Rng) -> tuple[list[str], list[str], int]:
    """Two clauses of opposite polarity (either may carry "not"); returns (A, B, pol(A))."""
    pol_a = rng.pick((1, -1))
    nouns = rng.sample(NOUNS, 2)
    used: set = set()
    a = _clause(rng, nouns[0], pol_a, rng.coin(0.25), used)
    b = _clause(rng, nouns[1], -pol_a, rng.coin(0.25), used)
    return a, b, pol_a


def _twin_pair(rng: _Rng, long_range: bool, min_length: int, max_length: int, long_range_distance: tuple[int, int]):
    """Two sentences with the same token multiset and opposite labels.

    Returns ``[(tokens, label, distance), (tokens, label, distance)]`` or None if the draw does
    not fit the length limits; ``distance`` counts the tokens after the deciding adjective.
    In every construction the two clauses have opposite polarity, so the label depends on
    which clause the syntax makes decisive:
      contrast        "C1 , but C2 ."             -> pol(C2); twin swaps the clauses
      concession      "although S , M ." / "M , although S ." -> pol(M); twin swaps roles
      negation scope  "C1 , but C2 ." with "not" in one clause; twin moves the "not"
    Long-range pairs add a neutral tail after the deciding clause (concession puts the
    main clause first) so the deciding adjective is ``long_range_distance`` tokens from
    the end.
    """
    kind = rng.pick(("contrast", "concession", "negation_scope"))
    if kind == "negation_scope":
        # Same-polarity adjectives; "not" on exactly one side makes the clauses opposite.
        p = rng.pick((1, -1))
        adjs = rng.sample(_ADJECTIVES_BY_POLARITY[p], 2)
        nouns = rng.sample(NOUNS, 2)
        s1, s2 = (_Skeleton(rng, n, a, negatable=True) for n, a in zip(nouns, adjs))
        # (head up to and including the deciding adjective, rest before the tail, label)
        parts = [
            (s1.render(True) + [",", "but"] + s2.render(False), [], p),
            (s1.render(False) + [",", "but"] + s2.render(True), [], -p),
        ]
    elif kind == "contrast":
        a, b, pol_a = _opposite_clauses(rng)
        parts = [(a + [",", "but"] + b, [], -pol_a), (b + [",", "but"] + a, [], pol_a)]
    else:
        a, b, pol_a = _opposite_clauses(rng)
        parts = []
        for main, sub, pol in ((a, b, pol_a), (b, a, -pol_a)):
            if long_range or rng.coin(0.5):
                parts.append((main, [",", "although"] + sub, pol))
            else:
                parts.append((["although"] + sub + [","] + main, [], pol))

    head_max = max(len(h) for h, _, _ in parts)
    rest_len = [len(r) for _, r, _ in parts]
    body = len(parts[0][0]) + rest_len[0] + 1  # same for both twins, "." included
    tail_cost = 0
    if long_range:
        # distance = tokens after the deciding adjective = rest + tail + "."
        lo_d, hi_d = long_range_distance
        hi_d = min(hi_d, max_length - head_max)
        lo_t = max(lo_d - 1 - min(rest_len), _MIN_COST)
        hi_t = hi_d - 1 - max(rest_len)
        if hi_t < lo_t:
            return None
        tail_cost = rng.randint(lo_t, hi_t)
        body += tail_cost
        front = 0 if body >= min_length else max(_MIN_COST, min_length - body)
        if body + front > max_length:
            return None
    else:
        total = _target_length(rng, body, min_length, max_length)
        if total is None:
            return None
        front = total - body
    openers: set = set()
    prefix = _prefix(_filler(rng, front, "prefix", openers))
    tail = _suffix(_filler(rng, tail_cost, "suffix", openers))
    # distance = tokens after the deciding adjective (the last token of ``head``): rest + tail + "."
    return [
        (prefix + head + rest + tail + ["."], 1 if label == 1 else 0, len(rest) + len(tail) + 1)
        for head, rest, label in parts
    ]


# --------------------------------------------------------------------------- assembly
def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{name}={value!r} must be an integer >= {minimum}")


def _check_fraction(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={value!r} must be a number in [0, 1]")


def _check_distance(value) -> tuple[int, int]:
    """``long_range_distance`` as ``(lo, hi)``: integers with ``_MIN_COST + 1 <= lo <= hi``."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ConfigError(f"long_range_distance={value!r} must be a pair [lo, hi]") from None
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise ConfigError(f"long_range_distance={list(value)!r} must hold two integers")
    if not _MIN_COST + 1 <= lo <= hi:
        raise ConfigError(
            f"long_range_distance={[lo, hi]!r} needs {_MIN_COST + 1} <= lo <= hi (the tail is whole filler phrases)"
        )
    return int(lo), int(hi)


def _separate_twins(rng: _Rng, items: list) -> None:
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
    rng: _Rng,
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
            pair = _twin_pair(rng, i < n_long, min_length, max_length, long_range_distance)
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
            toks = _order_free(rng, label, min_length, max_length)
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

    rng = _Rng(int(seed))
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
