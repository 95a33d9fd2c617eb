"""Order-blind baseline: the bag of words."""
from __future__ import annotations

import torch

from .base import Summarizer, masked_mean


class MeanSummarizer(Summarizer):
    """Timewise mean of the word vectors over real tokens: ignores word order by construction."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.input_dim = self.output_dim = int(input_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return masked_mean(x, lengths)
