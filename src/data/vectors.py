"""Pretrained word vectors in the word2vec / GloVe *text* format, optionally gzip-compressed.

One word a line: ``word v1 v2 ... vD``; word2vec files start with a ``count dim`` header line,
GloVe files do not. Words may contain spaces (GloVe 840B has a few): the last D fields are the
numbers. Binary word2vec files (``.bin``) are not read: convert them to text first
(e.g. gensim ``KeyedVectors.save_word2vec_format(..., binary=False)``).
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .sources import DataError

log = logging.getLogger(__name__)


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_word_vectors(
    path: str | Path, vocab: Mapping[str, int], lowercase: bool = True
) -> tuple[np.ndarray, np.ndarray, int]:
    """The vectors of the words in ``vocab`` (word -> id).

    With ``lowercase`` a file word matches the vocabulary word equal to its lower-case form; when
    a file holds several case variants ("The", "the") the exact lower-case one wins, otherwise the
    first. Returns ``(ids, vectors [len(ids), dim] float32, dim)``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"model.embedding.pretrained_path: no such file: {path}")
    if path.suffix == ".bin" or path.name.endswith(".bin.gz"):
        raise DataError(f"{path}: binary word2vec files are not supported; convert it to the text format")
    found: dict[int, tuple[np.ndarray, bool]] = {}  # id -> (vector, exact lower-case match)
    dim = None
    number = 0
    try:
        with _open_binary(path) as f:
            for number, raw_line in enumerate(f, start=1):
                fields = raw_line.decode("utf-8").rstrip("\r\n").rstrip(" ").split(" ")
                if number == 1 and len(fields) == 2 and all(x.isdigit() for x in fields):
                    dim = int(fields[1])  # word2vec header: "count dim"
                    continue
                if len(fields) == 1 and not fields[0]:
                    continue
                if dim is None:
                    dim = len(fields) - 1
                    if dim < 1:
                        raise DataError(f"{path}: line {number} has no numbers after the word")
                if len(fields) < dim + 1:
                    raise DataError(
                        f"{path}: line {number} has {len(fields) - 1} numbers, expected {dim} "
                        f"(the dimension of the first vector)"
                    )
                word = " ".join(fields[:-dim])
                key = word.lower() if lowercase else word
                index = vocab.get(key)
                if index is None:
                    continue
                exact = word == key
                if index in found and (found[index][1] or not exact):
                    continue
                try:
                    vector = np.asarray(fields[-dim:], dtype=np.float32)
                except ValueError:
                    raise DataError(f"{path}: line {number} has a value that is not a number") from None
                found[index] = (vector, exact)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 on line {number} ({exc.reason})") from None
    except (OSError, EOFError) as exc:  # e.g. a truncated or non-gzip .gz
        raise DataError(f"{path}: cannot read: {exc}") from None
    if dim is None:
        raise DataError(f"{path}: the file holds no vectors")
    ids = np.fromiter(sorted(found), dtype=np.int64, count=len(found))
    vectors = np.stack([found[i][0] for i in ids]) if len(ids) else np.zeros((0, dim), dtype=np.float32)
    return ids, vectors, dim


def pretrained_embedding_rows(
    path: str | Path, vocab: Mapping[str, int], dim: int, special_ids: tuple[int, ...] = (0, 1), lowercase: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to copy into an embedding table of width ``dim``: ``(ids, vectors)``.

    Checks the file's dimension against ``dim`` and that at least one word matches, and logs the
    coverage ("found 14,838 of 16,185 words"). Special tokens ([PAD], [UNK]) are never matched.
    """
    words = {w: i for w, i in vocab.items() if i not in special_ids}
    ids, vectors, file_dim = read_word_vectors(path, words, lowercase)
    if file_dim != dim:
        raise DataError(
            f"{path} holds {file_dim}-dimensional vectors but model.embedding.dim={dim}; "
            f"set model.embedding.dim={file_dim}"
        )
    if len(ids) == 0:
        raise DataError(
            f"{path}: none of the {len(words):,} vocabulary words has a vector "
            f"(lower-cased: {lowercase}); is it the right file?"
        )
    log.info(
        "pretrained vectors %s: found %s of %s words (%.1f%%); the rest start random",
        Path(path).name,
        f"{len(ids):,}",
        f"{len(words):,}",
        100 * len(ids) / len(words),
    )
    return ids, vectors
