"""The word vectors every summarizer reads: random or pretrained, optionally frozen, with dropout
on the vectors and word dropout on the tokens.

A subclass of ``nn.Embedding``, so the table stays ``embedding.weight`` in checkpoints.
"""

from __future__ import annotations

import torch
from torch import nn

from src.summarizers.base import ConfigError, check_dropout, check_positive


class WordEmbedding(nn.Embedding):
    def __init__(
        self,
        vocab_size: int,
        dim: int = 128,
        pad_id: int = 0,
        unk_id: int | None = None,
        dropout: float = 0.0,
        word_dropout: float = 0.0,
        init_std: float | None = None,
        freeze: bool = False,
        pretrained_path: str | None = None,
    ):
        super().__init__(
            vocab_size, check_positive("model.embedding.dim", int(dim), "WordEmbedding"), padding_idx=pad_id
        )
        if init_std is not None:  # PyTorch draws N(0, 1): vectors of norm ~sqrt(dim) that Adam moves slowly
            if isinstance(init_std, bool) or not isinstance(init_std, (int, float)) or not init_std > 0:
                raise ConfigError(f"model.embedding.init_std must be a positive number or null, got {init_std!r}")
            with torch.no_grad():
                self.weight.normal_(0.0, float(init_std))
                self.weight[pad_id] = 0.0
        if freeze:  # fixed vectors (pretrained ones, see load_pretrained)
            self.weight.requires_grad_(False)
        self.pad_id, self.unk_id, self.pretrained_path = pad_id, unk_id, pretrained_path
        self.vector_dropout = nn.Dropout(check_dropout(dropout, "WordEmbedding", "model.embedding.dropout"))
        # Word dropout (Iyyer et al. 2015): a training token becomes [UNK] with this probability, so the
        # model learns to classify around words it has never seen, as it must on test.
        self.word_dropout = check_dropout(word_dropout, "WordEmbedding", "model.embedding.word_dropout")
        if self.word_dropout > 0 and unk_id is None:
            raise ConfigError("model.embedding.word_dropout > 0 needs the tokenizer's [UNK] id (unk_id)")

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.training and self.word_dropout > 0:
            dropped = torch.rand(input_ids.shape, device=input_ids.device) < self.word_dropout
            input_ids = input_ids.masked_fill(dropped & (input_ids != self.pad_id), self.unk_id)
        return self.vector_dropout(super().forward(input_ids))

    def load_pretrained(self, tokenizer) -> int:
        """Copy ``pretrained_path`` vectors (word2vec/GloVe text, maybe .gz) into the rows of the
        tokenizer's words; the other rows are redrawn at the vectors' scale. Returns the words found."""
        if not self.pretrained_path:
            return 0
        from src.data.vectors import pretrained_embedding_rows

        special = tuple(i for i in (self.pad_id, tokenizer.token_to_id("[UNK]")) if i is not None)
        lowercase = tokenizer.normalizer is not None and tokenizer.normalizer.normalize_str("A") == "a"
        ids, vectors = pretrained_embedding_rows(
            self.pretrained_path, tokenizer.get_vocab(), self.embedding_dim, special_ids=special, lowercase=lowercase
        )
        with torch.no_grad():
            found = torch.as_tensor(vectors, dtype=self.weight.dtype)
            self.weight.normal_(0.0, float(found.std()) if found.numel() > 1 else 1.0)
            self.weight[torch.as_tensor(ids)] = found
            self.weight[self.pad_id] = 0.0
        return len(ids)
