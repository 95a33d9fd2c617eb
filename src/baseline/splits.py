"""A split of a set-up datamodule as a baseline reads it: each text's tokens and its label id.

The tokens are the datamodule's own (its tokenizer's lower-casing, splitting, ``min_frequency`` and
``max_vocab`` with rare words as ``[UNK]``, ``max_length`` truncation), decoded from the encoded
split, so a baseline sees exactly the words a summarizer sees, also when the splits come from
the tokenized-data cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Split:
    """One split: ``tokens[i]`` and ``labels[i]`` are example i in the datamodule's order."""

    tokens: list[list[str]]
    labels: np.ndarray
    subsets: np.ndarray | None = None
    distances: np.ndarray | None = None
    full_lengths: np.ndarray | None = None  # tokens before data.max_length cut them; None: none was cut

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.tokens), dtype=np.int64, count=len(self.tokens))


def read_split(datamodule, split: str) -> Split:
    """``split`` of ``datamodule`` (after ``setup``) as tokens and label ids."""
    vocab = datamodule.tokenizer.get_vocab()
    words = np.empty(len(vocab), dtype=object)
    words[list(vocab.values())] = list(vocab.keys())
    encoded = datamodule.splits[split]
    flat = words[encoded.flat].tolist()
    bounds = encoded.offsets.tolist()
    tokens = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return Split(tokens, encoded.labels, encoded.subsets, encoded.distances, encoded.full_lengths)
