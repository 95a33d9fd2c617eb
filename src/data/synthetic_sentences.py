"""The grammar of the synthetic sentiment task: one ``order_free`` sentence, or one twin pair.

Every draw goes through ``Rng``, so a sentence is a pure function of the seed's stream; the
dataset (``src.data.synthetic``) decides how many of each to draw and keeps them unique.
"""

from __future__ import annotations

import random

from src.data.synthetic_lexicon import (
    ADJECTIVES_BY_POLARITY,
    DETERMINERS,
    FILLER_BY_LENGTH,
    INTENSIFIERS,
    MAX_FILLER_COST,
    MIN_FILLER_COST,
    NEGATABLE_INTENSIFIERS,
    NEGATABLE_VERBS,
    NEGATION,
    NOUNS,
    VERBS,
)


class Rng:
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
    return n == 0 or n >= MIN_FILLER_COST


def _filler(rng: Rng, cost: int, position: str, openers: set) -> list[tuple[str, ...]]:
    """Filler phrases whose total cost (phrase tokens + one comma each) is exactly ``cost``.

    ``openers`` (shared by all filler of one sentence) steers away from repeating a
    phrase type ("released ..., released ...") when another choice exists.
    """
    by_len = FILLER_BY_LENGTH[position]
    phrases = []
    while cost > 0:
        for attempt in range(20):
            if cost <= MAX_FILLER_COST and (attempt < 10 or cost < 2 * MIN_FILLER_COST):
                c = cost  # finish with one phrase if we can
            else:
                c = rng.randint(MIN_FILLER_COST, min(MAX_FILLER_COST, cost - MIN_FILLER_COST))
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

    def __init__(self, rng: Rng, noun: str, adj: str, negatable: bool) -> None:
        self.det = rng.pick(DETERMINERS)
        self.noun = noun
        self.verb = rng.pick(NEGATABLE_VERBS if negatable else VERBS)
        self.intensifier = rng.pick(NEGATABLE_INTENSIFIERS if negatable else INTENSIFIERS) if rng.coin(0.3) else None
        self.adj = adj

    def render(self, negated: bool) -> list[str]:
        toks = [self.det, self.noun, self.verb]
        if self.intensifier:
            toks.append(self.intensifier)
        if negated:
            toks.append(NEGATION)
        toks.append(self.adj)
        return toks


def _clause(rng: Rng, noun: str, polarity: int, negated: bool, used_adjs: set) -> list[str]:
    """DET NOUN VERB [INTENSIFIER] [not] ADJ whose polarity (after "not") is ``polarity``."""
    adj_pol = -polarity if negated else polarity
    adj = rng.pick(ADJECTIVES_BY_POLARITY[adj_pol])
    while adj in used_adjs:
        adj = rng.pick(ADJECTIVES_BY_POLARITY[adj_pol])
    used_adjs.add(adj)
    return _Skeleton(rng, noun, adj, negatable=negated).render(negated)


def _target_length(rng: Rng, base: int, min_length: int, max_length: int) -> int | None:
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
def order_free_sentence(rng: Rng, label: int, min_length: int, max_length: int) -> list[str] | None:
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
    if pad >= 2 * MIN_FILLER_COST and rng.coin(0.4):
        front = rng.randint(MIN_FILLER_COST, pad - MIN_FILLER_COST)
    else:
        front = pad if rng.coin(0.5) else 0
    openers: set = set()
    return (
        _prefix(_filler(rng, front, "prefix", openers))
        + body
        + _suffix(_filler(rng, pad - front, "suffix", openers))
        + ["."]
    )


def _opposite_clauses(rng: Rng) -> tuple[list[str], list[str], int]:
    """Two clauses of opposite polarity (either may carry "not"); returns (A, B, pol(A))."""
    pol_a = rng.pick((1, -1))
    nouns = rng.sample(NOUNS, 2)
    used: set = set()
    a = _clause(rng, nouns[0], pol_a, rng.coin(0.25), used)
    b = _clause(rng, nouns[1], -pol_a, rng.coin(0.25), used)
    return a, b, pol_a


def twin_pair(rng: Rng, long_range: bool, min_length: int, max_length: int, long_range_distance: tuple[int, int]):
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
        adjs = rng.sample(ADJECTIVES_BY_POLARITY[p], 2)
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
        lo_t = max(lo_d - 1 - min(rest_len), MIN_FILLER_COST)
        hi_t = hi_d - 1 - max(rest_len)
        if hi_t < lo_t:
            return None
        tail_cost = rng.randint(lo_t, hi_t)
        body += tail_cost
        front = 0 if body >= min_length else max(MIN_FILLER_COST, min_length - body)
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
