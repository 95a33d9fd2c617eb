"""The tokenized-data cache: encoded splits, label names and tokenizer in one ``.npz`` file.

The file's name carries a hash of the data content and of every setting that changes the encoded
result (:func:`cache_key`), so a second run on the same data skips tokenizer training and encoding,
and a run with other data or settings never reads a stale file. Writes go to a temporary file
renamed into place, so a killed run never leaves a half-written cache; an unreadable file is
ignored (and rebuilt by the caller), never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import tokenizers
from tokenizers import Tokenizer

from src.utils.io import atomic_write

from .encoded import EncodedSplit

log = logging.getLogger(__name__)
CACHE_VERSION = 1


@dataclass
class Prepared:
    """What set-up produces and the cache stores."""

    splits: dict[str, EncodedSplit]
    label_names: list[str]
    subset_names: list[str]
    tokenizer: Tokenizer


def cache_key(raw: datasets.DatasetDict, columns: Sequence[str | None], settings: Mapping) -> str:
    """Hash of the data content (the ``columns`` present in each split) and of ``settings`` (every
    setting that changes the encoded result; JSON-serialisable), 24 hex digits."""
    settings = {"version": CACHE_VERSION, "tokenizers": tokenizers.__version__, **settings}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for split in sorted(raw):
        ds = raw[split]
        present = [c for c in columns if c in ds.column_names]
        digest.update(f"{split}:{len(ds)}:{[repr(ds.features[c]) for c in present]}".encode())
        for batch in ds.select_columns(present).iter(batch_size=50_000):
            for column in present:
                digest.update(repr(batch[column]).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:24]


def tokenizer_digest(tokenizer: Tokenizer | None) -> str | None:
    return hashlib.sha256(tokenizer.to_str().encode()).hexdigest() if tokenizer else None


def load(path: Path, name: str) -> Prepared | None:
    """The cached data at ``path``, or None when there is none or it cannot be read (with a warning)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(stored["meta"].tobytes().decode())
            splits = {
                split: EncodedSplit(
                    stored[f"{split}__flat"],
                    stored[f"{split}__offsets"],
                    stored[f"{split}__labels"],
                    stored[f"{split}__subsets"] if meta["subsets"] else None,
                    stored[f"{split}__distances"] if f"{split}__distances" in stored else None,
                )
                for split in meta["splits"]
            }
        tokenizer = Tokenizer.from_str(meta["tokenizer"])
    except Exception as exc:  # noqa: BLE001  (a bad cache file is rebuilt, never trusted)
        log.warning("%s: ignoring unreadable cache file %s (%s); rebuilding it", name, path, exc)
        return None
    return Prepared(splits, meta["label_names"], meta["subset_names"], tokenizer)


def save(path: Path, name: str, data: Prepared) -> None:
    """Store ``data`` at ``path`` atomically; a failed write is a warning, never an error."""
    meta = {
        "version": CACHE_VERSION,
        "splits": list(data.splits),
        "label_names": data.label_names,
        "subset_names": data.subset_names,
        "tokenizer": data.tokenizer.to_str(),
        "subsets": any(d.subsets is not None for d in data.splits.values()),
    }
    arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    for split, encoded in data.splits.items():
        arrays.update(
            {f"{split}__flat": encoded.flat, f"{split}__offsets": encoded.offsets, f"{split}__labels": encoded.labels}
        )
        if encoded.subsets is not None:
            arrays[f"{split}__subsets"] = encoded.subsets
        if encoded.distances is not None:
            arrays[f"{split}__distances"] = encoded.distances
    try:
        with atomic_write(path, "wb") as f:  # readers see the old file or the whole new one
            np.savez(f, **arrays)
        log.info("%s: cached tokenized data in %s", name, path)
    except OSError as exc:
        log.warning("%s: could not write the cache file %s (%s); continuing without it", name, path, exc)
