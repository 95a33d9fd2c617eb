"""A split's texts kept in Arrow until they are encoded: a million documents cost their UTF-8 bytes,
not a Python string each, and become Python strings only a batch at a time."""

from __future__ import annotations

from collections.abc import Iterator

import datasets
import numpy as np
import pyarrow as pa

from .sources import DataError

BATCH = 4096  # texts turned into Python strings at a time (bounds the memory of one batch's encodings)


def arrow_column(ds: datasets.Dataset, name: str) -> pa.ChunkedArray:
    """Column ``name`` of ``ds`` as Arrow, without a copy unless ``ds`` is a selection of rows."""
    return ds.with_format("arrow")[name]


def kept_rows(column: pa.ChunkedArray, where: str, name: str) -> np.ndarray:
    """Positions of the rows with text (not null, not only whitespace); a cell that is not text is a
    DataError naming its row."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_null(column.type)):
        row = next(i for i, value in enumerate(column) if value.is_valid)
        raise DataError(f"{where}: column {name!r} row {row + 1} is not text: {column[row].as_py()!r}")
    keep, start = [], 0
    for texts in text_batches(column, np.arange(len(column))):
        keep.append(start + np.flatnonzero([text is not None and bool(text.strip()) for text in texts]))
        start += len(texts)
    return np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)


def text_batches(column: pa.ChunkedArray, index: np.ndarray, size: int = BATCH) -> Iterator[list[str]]:
    """``column[index]`` as lists of at most ``size`` Python strings."""
    for start in range(0, len(index), size):
        yield from _batches(column, index[start : start + size])


def _batches(column: pa.ChunkedArray, index: np.ndarray) -> Iterator[list]:
    """``column[index]`` taken chunk by chunk, one list per run of rows in the same chunk
    (``ChunkedArray.take`` joins every chunk first, far too slow a batch at a time)."""
    bounds = np.cumsum([0] + [len(chunk) for chunk in column.chunks])
    chunk_of = np.searchsorted(bounds, index, side="right") - 1
    for run in np.split(np.arange(len(index)), np.flatnonzero(np.diff(chunk_of)) + 1):
        if len(run):
            chunk, rows = int(chunk_of[run[0]]), index[run] - bounds[int(chunk_of[run[0]])]
            contiguous = rows[-1] - rows[0] == len(rows) - 1 and bool(np.all(np.diff(rows) == 1))
            part = column.chunk(chunk)
            yield (part.slice(int(rows[0]), len(rows)) if contiguous else part.take(pa.array(rows))).to_pylist()
