"""Word-level tokenizer (HF ``tokenizers``), trained on the train split only.

Its JSON travels inside every checkpoint, so a trained model can be applied to raw text later.
"""
from __future__ import annotations

from typing import Iterable

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1


def train_word_tokenizer(texts: Iterable[str], min_frequency: int = 1, max_vocab: int = 50_000,
                         lowercase: bool = True) -> Tokenizer:
    """Lower-case, split on whitespace and punctuation, keep words seen ``min_frequency`` times
    (at most ``max_vocab`` entries including [PAD]=0 and [UNK]=1); the rest become [UNK]."""
    if min_frequency < 1:
        raise ValueError(f"tokenizer.min_frequency must be >= 1, got {min_frequency}")
    if max_vocab < 3:
        raise ValueError(f"tokenizer.max_vocab must be >= 3, got {max_vocab}")
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(norms)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=max_vocab, min_frequency=min_frequency,
                                        special_tokens=[PAD_TOKEN, UNK_TOKEN], show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    assert tokenizer.token_to_id(PAD_TOKEN) == PAD_ID and tokenizer.token_to_id(UNK_TOKEN) == UNK_ID
    return tokenizer


def encode(tokenizer: Tokenizer, texts: list[str], max_length: int | None) -> list[list[int]]:
    """Token ids per text, truncated to ``max_length`` (keeping the beginning)."""
    ids = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    if max_length:
        ids = [x[:max_length] for x in ids]
    return ids
