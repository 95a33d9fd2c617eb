"""The words of the synthetic sentiment task (``src.data.synthetic``) and its neutral filler.

Kept apart from the grammar so the whole vocabulary reads in one place: the sentiment adjectives
carry the only polarity, and the filler phrases carry none, so they can lengthen a sentence or push
its deciding words back without ever changing its label.
"""

from __future__ import annotations

import itertools

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
NEGATABLE_VERBS = ("was", "is")
NEGATABLE_INTENSIFIERS = ("really", "truly", "simply")

ADJECTIVES_BY_POLARITY = {1: POSITIVE_ADJECTIVES, -1: NEGATIVE_ADJECTIVES}


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
FILLER_BY_LENGTH = {  # position -> phrase length -> phrases
    "suffix": {n: tuple(p for p in FILLER_PHRASES if len(p) == n) for n in sorted({len(p) for p in FILLER_PHRASES})},
    "prefix": {
        n: tuple(p for p in FILLER_PHRASES if len(p) == n and p[0] != "which")
        for n in sorted({len(p) for p in FILLER_PHRASES})
    },
}
# A filler phrase always travels with one comma, so it costs len(phrase) + 1 tokens.
MIN_FILLER_COST = min(FILLER_BY_LENGTH["suffix"]) + 1
MAX_FILLER_COST = max(FILLER_BY_LENGTH["suffix"]) + 1
assert all(
    set(by_len) == set(range(MIN_FILLER_COST - 1, MAX_FILLER_COST)) and all(by_len.values())
    for by_len in FILLER_BY_LENGTH.values()
), "every filler length must be available"
