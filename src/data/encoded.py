"""The encoded form of one split: every text's token ids in one flat array, served as a torch Dataset."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset


class EncodedSplit(Dataset):
    """Token ids of one split in one flat int32 array; text i is ``flat[offsets[i]:offsets[i + 1]]``."""

    def __init__(
        self,
        flat: np.ndarray,
        offsets: np.ndarray,
        labels: np.ndarray,
        subsets: np.ndarray | None = None,
        distances: np.ndarray | None = None,
        full_lengths: np.ndarray | None = None,
    ):
        self.flat, self.offsets = np.asarray(flat, dtype=np.int32), np.asarray(offsets, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.subsets = None if subsets is None else np.asarray(subsets, dtype=np.int64)
        # tokens after the deciding word (the built-in data's twin pairs), -1 where the data does not say
        self.distances = None if distances is None else np.asarray(distances, dtype=np.int64)
        self.lengths = np.diff(self.offsets)
        # each text's tokens before data.max_length cut it; None when no text of the split was cut
        self.full_lengths = None if full_lengths is None else np.asarray(full_lengths, dtype=np.int64)

    @property
    def ids(self) -> list[np.ndarray]:
        return [self.flat[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.flat[self.offsets[i] : self.offsets[i + 1]], "label": int(self.labels[i]), "index": i}
        if self.subsets is not None:
            item["subset"] = int(self.subsets[i])
        if self.distances is not None:
            item["distance"] = int(self.distances[i])
        if self.full_lengths is not None:
            item["full_length"] = int(self.full_lengths[i])
        return item
