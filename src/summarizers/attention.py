"""Attention pooling over BiLSTM states: structured self-attention (Lin et al. 2017, "A Structured
Self-attentive Sentence Embedding").

A small MLP scores every step, A = softmax(W2 tanh(W1 H^T)) over the real steps only, and each of
the ``hops`` rows of A gives one weighted sum of the states; the summary is their concatenation.
Padding gets weight exactly zero (its score is -inf before the softmax). The paper's penalty
||A A^T - I||^2, which pushes several hops apart, is not added to the loss: with the default
single hop it is zero.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import check_positive, padding_mask
from .recurrent import BiLSTMSummarizer


class AttentionSummarizer(BiLSTMSummarizer):
    def __init__(
        self,
        input_dim: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        attention_size: int = 128,
        hops: int = 1,
    ):
        super().__init__(input_dim, hidden_size, num_layers, dropout)
        self.attention_size = check_positive("attention_size", attention_size, "AttentionSummarizer")
        self.hops = check_positive("hops", hops, "AttentionSummarizer")
        self.score = nn.Sequential(
            nn.Linear(2 * hidden_size, attention_size, bias=False),
            nn.Tanh(),
            nn.Linear(attention_size, hops, bias=False),
        )
        self.output_dim = 2 * hidden_size * hops

    def weights(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """[B, hops, T] attention weights: each row sums to one over real steps, exactly 0 on padding."""
        return self._weights(states, padding_mask(lengths.to(states.device), states.size(1)))

    def _weights(self, states: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        scores = self.score(states).transpose(1, 2)  # [B, hops, T]
        scores = scores.to(torch.promote_types(scores.dtype, torch.float32))  # bf16 under autocast: softmax in fp32
        return scores.masked_fill(~real.unsqueeze(1), float("-inf")).softmax(dim=-1)

    def forward(self, x, lengths):
        states = self.states(x, lengths)
        real = padding_mask(lengths.to(states.device), states.size(1))
        # Padded states are zeroed too, so that 0 * (a non-finite padding value) cannot reach the sum.
        pooled = self._weights(states, real) @ states.masked_fill(~real.unsqueeze(-1), 0.0)  # [B, hops, 2H]
        return pooled.flatten(1)
