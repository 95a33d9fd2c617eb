"""The scale bench's encoder check: the pipeline's encoder against the HF ``tokenizers`` batch encoder on
the same texts, side by side in one process."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np


def measure_encoder(csv_path: Path, docs: int, rounds: int = 3) -> dict:
    """The pipeline's encoder (Arrow texts in batches -> flat ids) against ``encode_batch`` on a list
    of the same texts, best of ``rounds`` each, taking turns."""
    from src.data.sources import read_delimited
    from src.data.texts import text_batches
    from src.data.tokenizer import encode_flat, train_word_tokenizer

    column = read_delimited(csv_path, "text").column("text").slice(0, docs)
    index = np.arange(len(column))
    tokenizer = train_word_tokenizer(text_batches(column, index))
    texts = column.to_pylist()
    ours, theirs = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        flat, _, _ = encode_flat(tokenizer, text_batches(column, index), None)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
        theirs.append(time.perf_counter() - start)
    same = np.array_equal(flat, np.fromiter(itertools.chain.from_iterable(e.ids for e in encodings), dtype=np.int32))
    tokens = len(flat)
    return {
        "docs": len(texts),
        "tokens": tokens,
        "same_ids": same,
        "encode_flat_tokens_per_s": round(tokens / min(ours)),
        "encode_batch_tokens_per_s": round(tokens / min(theirs)),
        "ratio": round(min(theirs) / min(ours), 3),
    }
