"""The tokenized-data cache: encoded splits, label names and tokenizer in one folder per key.

The folder's name carries a hash of the data content and of every setting that changes the encoded
result (:func:`cache_key`), so a second run on the same data skips tokenizer training and encoding,
and a run with other data or settings never reads a stale entry. Each array is one ``.npy`` file,
memory-mapped on load, so a cached corpus of any size costs no memory until its batches are read;
``meta.json`` holds the rest. An entry is written in a temporary folder renamed into place, so a
killed run never leaves a half-written entry; an unreadable entry, or one of an older format, is
ignored with a warning and rebuilt, never trusted (and never unpickled).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import tokenizers
from tokenizers import Tokenizer

from src.utils.io import current_umask, fsync_dir

from .encoded import EncodedSplit

log = logging.getLogger(__name__)
CACHE_VERSION = 2  # 2: a folder of memory-mapped .npy files (1 was one .npz file)
ABANDONED_AFTER_S = 24 * 3600  # a half-written entry this old belongs to a killed run, not a running one
# Entries of version 2 without this mark predate ``full_lengths`` and are rebuilt once; the mark, not a
# new version, so that code from before it still reads the entries of untruncated sets written after.
FULL_LENGTHS_RECORDED = "full_lengths_recorded"
DTYPES = {
    "flat": np.int32,
    "offsets": np.int64,
    "labels": np.int64,
    "subsets": np.int64,
    "distances": np.int64,
    "full_lengths": np.int64,
}


@dataclass
class Prepared:
    """What set-up produces and the cache stores."""

    splits: dict[str, EncodedSplit]
    label_names: list[str]
    subset_names: list[str]
    tokenizer: Tokenizer


def content_digest(raw: datasets.DatasetDict, columns: Sequence[str | None]) -> str:
    """Hash of the ``columns`` present in each split of ``raw``, read batch by batch (for sources that
    are not files on disk: the Hub, the built-in generator)."""
    digest = hashlib.sha256()
    for split in sorted(raw):
        ds = raw[split]
        present = [c for c in columns if c in ds.column_names]
        digest.update(f"{split}:{len(ds)}:{[repr(ds.features[c]) for c in present]}".encode())
        for batch in ds.select_columns(present).iter(batch_size=50_000):
            for column in present:
                digest.update(repr(batch[column]).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def cache_key(content: str, settings: Mapping) -> str:
    """Hash of the data's ``content`` digest and of ``settings`` (every setting that changes the
    encoded result; JSON-serialisable), 24 hex digits."""
    settings = {"version": CACHE_VERSION, "tokenizers": tokenizers.__version__, **settings}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(content.encode())
    return digest.hexdigest()[:24]


def tokenizer_digest(tokenizer: Tokenizer | None) -> str | None:
    return hashlib.sha256(tokenizer.to_str().encode()).hexdigest() if tokenizer else None


def load(path: Path, name: str) -> Prepared | None:
    """The cached data at ``path`` with its arrays memory-mapped, or None when there is none or it
    cannot be read (with a warning)."""
    if not path.exists():
        return None
    try:
        return _read(path)
    except Exception as exc:  # noqa: BLE001  (a bad cache entry is rebuilt, never trusted)
        log.warning("%s: ignoring unreadable cache entry %s (%s); rebuilding it", name, path, exc)
        return None


def _read(path: Path) -> Prepared:
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("version") != CACHE_VERSION:
        raise ValueError(f"cache format version {meta.get('version')!r}, not {CACHE_VERSION}")
    if not meta.get(FULL_LENGTHS_RECORDED):
        raise ValueError("written before the texts' lengths before truncation were recorded")
    splits = {split: _load_split(path, split, arrays) for split, arrays in meta["arrays"].items()}
    return Prepared(splits, meta["label_names"], meta["subset_names"], Tokenizer.from_str(meta["tokenizer"]))


def _load_split(path: Path, split: str, arrays: Sequence[str]) -> EncodedSplit:
    """One split's arrays, memory-mapped, each checked for its dtype and all for consistent sizes."""
    loaded = {}
    for array in arrays:
        value = np.load(path / f"{split}.{array}.npy", mmap_mode="r", allow_pickle=False)
        if value.dtype != DTYPES[array] or value.ndim != 1:
            raise ValueError(f"{split}.{array}.npy holds {value.dtype}[{value.ndim}d], not {DTYPES[array].__name__}")
        loaded[array] = value
    offsets, count = loaded["offsets"], len(loaded["labels"])
    if len(offsets) != count + 1 or offsets[0] != 0 or offsets[-1] != len(loaded["flat"]):
        raise ValueError(f"{split}: offsets do not match {count} texts of {len(loaded['flat'])} tokens")
    if any(len(loaded[a]) != count for a in ("subsets", "distances", "full_lengths") if a in loaded):
        raise ValueError(f"{split}: the per-text arrays differ in length")
    return EncodedSplit(**loaded)


def save(path: Path, name: str, data: Prepared) -> None:
    """Store ``data`` at ``path`` atomically; a failed write is a warning, never an error."""
    arrays = {
        split: {a: getattr(encoded, a) for a in DTYPES if getattr(encoded, a) is not None}
        for split, encoded in data.splits.items()
    }
    meta = {
        "version": CACHE_VERSION,
        "arrays": {split: list(named) for split, named in arrays.items()},
        "label_names": data.label_names,
        "subset_names": data.subset_names,
        "tokenizer": data.tokenizer.to_str(),
        FULL_LENGTHS_RECORDED: True,
    }
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(path.parent)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp alone makes it owner-only, hiding it from colleagues
        for split, named in arrays.items():
            for array, value in named.items():
                _write(tmp / f"{split}.{array}.npy", lambda f, v=value: np.save(f, v, allow_pickle=False))
        _write(tmp / "meta.json", lambda f: f.write(json.dumps(meta).encode()))
        fsync_dir(tmp)
        _rename_into_place(tmp, path)
        log.info("%s: cached tokenized data in %s", name, path)
    except OSError as exc:
        log.warning("%s: could not write the cache entry %s (%s); continuing without it", name, path, exc)
    finally:
        if tmp is not None:  # a failed or interrupted write, or a lost race, leaves nothing behind
            shutil.rmtree(tmp, ignore_errors=True)


def remove_abandoned(cache_dir: Path, now: float | None = None) -> list[Path]:
    """Delete the temporary folders that runs killed mid-write (SIGKILL, power loss) left in
    ``cache_dir``: ``finally`` never ran for them, and a large corpus's are gigabytes. Only folders
    untouched for ``ABANDONED_AFTER_S`` go, so a write in progress in another job is never disturbed."""
    now = time.time() if now is None else now
    removed = []
    for leftover in (*cache_dir.glob(".*.tmp"), *cache_dir.glob(".*.stale")):
        try:
            if leftover.is_dir() and now - leftover.stat().st_mtime > ABANDONED_AFTER_S:
                shutil.rmtree(leftover, ignore_errors=True)
                removed.append(leftover)
        except OSError:  # gone already (another job cleaned it), or not ours to read
            continue
    if removed:
        log.info("removed %d abandoned cache write(s) in %s", len(removed), cache_dir)
    return removed


def _write(path: Path, write) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _rename_into_place(tmp: Path, path: Path) -> None:
    """Rename the finished folder ``tmp`` to ``path``. When another job got there first with a
    readable entry, that one stays (it holds the same data, and jobs may be reading it) and ``tmp``
    is left for the caller to remove; an unreadable entry is moved aside and replaced."""
    try:
        os.rename(tmp, path)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        try:
            _read(path)
            return
        except Exception:  # noqa: BLE001  (unreadable: replaced below)
            stale = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".stale"))
            os.rename(path, stale / "entry")
            os.rename(tmp, path)
            shutil.rmtree(stale, ignore_errors=True)
    fsync_dir(path.parent)
