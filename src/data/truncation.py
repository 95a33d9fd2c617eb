"""Which tokens of a long text are kept: ``data.max_length`` tokens, chosen by ``data.truncation``.

* ``head`` (the default): the first ``max_length`` tokens, as every set here has been read so far.
* ``tail``: the last ``max_length`` tokens (a review's verdict often closes it).
* ``head_tail``: the first quarter of ``max_length`` and the last three quarters (:func:`head_tokens`),
  the split Sun et al. (2019, "How to Fine-Tune BERT for Text Classification?") found best on IMDB:
  they keep 128 + 382 of 512 (two slots go to BERT's special tokens); here 512 keeps 128 + 384, the
  default 256 keeps 64 + 192.

Texts no longer than ``max_length`` are kept whole in every mode. The mode is part of the
tokenized-data cache key (``src.data.preparation``).
"""

from __future__ import annotations

from src.summarizers.base import ConfigError

TRUNCATIONS = ("head", "tail", "head_tail")


def check_truncation(truncation) -> str:
    """``truncation`` when it is one of :data:`TRUNCATIONS`, else a one-line ConfigError."""
    if truncation not in TRUNCATIONS:
        raise ConfigError(f"data.truncation must be one of {', '.join(TRUNCATIONS)}, got {truncation!r}")
    return truncation


def head_tokens(max_length: int) -> int:
    """How many of ``max_length`` tokens ``head_tail`` takes from the beginning: a quarter, rounded down."""
    return max_length // 4


def truncate(ids: list[int], max_length: int, truncation: str = "head") -> list[int]:
    """``ids`` cut to ``max_length`` tokens the ``truncation`` way (unchanged when not longer)."""
    if len(ids) <= max_length:
        return ids
    if truncation == "head":
        return ids[:max_length]
    if truncation == "tail":
        return ids[len(ids) - max_length :]
    head = head_tokens(max_length)
    return ids[:head] + ids[len(ids) - (max_length - head) :]
