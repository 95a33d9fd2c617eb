"""Word-level tokenizer (HF ``tokenizers``), trained on the train split only.

Its JSON travels inside every checkpoint, so a trained model can be applied to raw text later.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from .truncation import truncate

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1


HTML_BREAK = r"(?i)<br\s*/?\s*>"  # <br />, <br/>, <br>, <BR>: IMDB's reviews keep them


def train_word_tokenizer(
    texts: Iterable[str],
    min_frequency: int = 1,
    max_vocab: int = 50_000,
    lowercase: bool = True,
    strip_html_breaks: bool = False,
) -> Tokenizer:
    """Lower-case, split on whitespace and punctuation, keep words seen ``min_frequency`` times
    (at most ``max_vocab`` entries including [PAD]=0 and [UNK]=1); the rest become [UNK].
    ``strip_html_breaks``: HTML line breaks read as a space, not as the three tokens ``< br />``. Both
    are normalizer steps inside the tokenizer, so a checkpoint applies them to raw text as in training."""
    if min_frequency < 1:
        raise ValueError(f"tokenizer.min_frequency must be >= 1, got {min_frequency}")
    if max_vocab < 3:
        raise ValueError(f"tokenizer.max_vocab must be >= 3, got {max_vocab}")
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    norms = [normalizers.NFKC()] + ([normalizers.Replace(Regex(HTML_BREAK), " ")] if strip_html_breaks else [])
    norms += [normalizers.Lowercase()] if lowercase else []
    tokenizer.normalizer = normalizers.Sequence(norms)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(
        vocab_size=max_vocab, min_frequency=min_frequency, special_tokens=[PAD_TOKEN, UNK_TOKEN], show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    assert tokenizer.token_to_id(PAD_TOKEN) == PAD_ID and tokenizer.token_to_id(UNK_TOKEN) == UNK_ID
    return tokenizer


def encode(tokenizer: Tokenizer, texts: list[str], max_length: int | None) -> list[list[int]]:
    """Token ids per text, truncated to ``max_length`` (keeping the beginning)."""
    ids = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    if max_length:
        ids = [x[:max_length] for x in ids]
    return ids


def encode_flat(
    tokenizer: Tokenizer, batches: Iterable[list[str]], max_length: int | None, truncation: str = "head"
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """All texts' ids in one int32 array plus int64 ``offsets`` (text i is ``flat[offsets[i]:offsets[i+1]]``).

    ``batches`` are lists of texts, each encoded by the tokenizer's parallel batch encoder (without
    the character offsets, which nothing here reads). One flat array instead of a list of lists
    keeps big corpora small in memory and quick to cache. A text longer than ``max_length`` keeps its
    head, tail or both (``truncation``, ``src.data.truncation``). Returns ``(flat, offsets, number of
    every text's length before truncation)``, the last None when no text was cut: the report buckets
    accuracy by a document's real length, not by the ``max_length`` every long one was cut to.
    """
    pieces, lengths, full_lengths, truncated = [], [], [], 0
    for texts in batches:
        ids = [e.ids for e in tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        full_lengths.append(counts)
        if max_length and counts.max(initial=0) > max_length:
            truncated += int((counts > max_length).sum())
            ids, counts = [truncate(x, max_length, truncation) for x in ids], np.minimum(counts, max_length)
        pieces.append(np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(counts.sum())))
        lengths.append(counts)
    offsets = np.zeros(sum(map(len, lengths)) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64), out=offsets[1:])
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    return flat, offsets, (np.concatenate(full_lengths) if truncated else None)
