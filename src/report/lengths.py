"""Which length the accuracy-by-length buckets use, and what the caption says about truncation.

A run's ``predictions.csv`` has ``length``, the tokens the model read: after ``data.max_length``
truncation, so on long documents (IMDB) every review longer than the limit sits at exactly that
length and the last bucket mixes them all. A run that also records ``full_length`` (the text's
tokens before truncation) gets buckets by the document's real length instead; the model still read
at most ``max_length`` of them, which is what the plot then shows: accuracy falling (or not) as
more of the document is cut away.
"""

from __future__ import annotations

import pandas as pd

LENGTH, FULL_LENGTH = "length", "full_length"


def length_column(predictions: pd.DataFrame) -> str:
    """``full_length`` when every prediction has it, else ``length``."""
    if FULL_LENGTH in predictions and predictions[FULL_LENGTH].notna().all():
        return FULL_LENGTH
    return LENGTH


def length_caption(predictions: pd.DataFrame, jobs: pd.DataFrame) -> str:
    """What the buckets' lengths are, and how many test inputs the runs' ``max_length`` cut."""
    column = length_column(predictions)
    limits = sorted({int(m) for m in jobs["max_length"].dropna()}) if "max_length" in jobs else []
    limit = f"data.max_length={limits[0]}" if len(limits) == 1 else "data.max_length"
    if column == FULL_LENGTH:
        cut = (predictions[FULL_LENGTH] > predictions[LENGTH]).mean()
        return (
            f"Length: each document's tokens before truncation (predictions.csv `full_length`); the models read at "
            f"most {limit} of them ({cut:.0%} of the test inputs were cut)."
        )
    if len(limits) != 1:
        return "Length: tokens the model read."
    cut = (predictions[LENGTH] >= limits[0]).mean()
    if not cut:
        return f"Length: tokens the model read (no test input reached {limit})."
    return (
        f"Length: tokens the model read, after {limit} truncation: {cut:.0%} of the test inputs reached the limit "
        f"(cut to {limits[0]} tokens, or exactly that long), so the last bucket holds every longer one (a run "
        "whose predictions.csv has `full_length` gets buckets by the document's real length)."
    )
