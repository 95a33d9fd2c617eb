"""Recurrent summarizers: which part of the recurrent state becomes the sentence vector.

Every recurrence runs right-padded through PyTorch's fused kernels (oneDNN on CPU, cuDNN on CUDA)
rather than on packed sequences, which on CPU fall onto a path about 2x slower. Padding is made
harmless by construction: the recurrences are causal, so states at real steps never see padding;
summaries are read at each sequence's last real step (``gather_last``) or averaged over real steps
only; the backward direction of ``bilstm`` runs over each sequence reversed *within its length*;
and the final cell state c_T is carried through padding unchanged (``lstm_last_cell_padded``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .base import ConfigError, Summarizer, check_dropout, check_positive, gather_last, masked_max, padding_mask
from .lstm_kernels import cell_states_from_hidden, lstm_all_states, lstm_last_cell_padded


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """x[b, t] -> x[b, lengths[b] - 1 - t] for real steps; padding stays where it is. Self-inverse."""
    steps = torch.arange(x.size(1), device=x.device).unsqueeze(0)
    lengths = lengths.to(x.device).unsqueeze(1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(-1)))


class _Recurrent(Summarizer):
    """Shared settings: ``dropout`` acts between stacked layers (PyTorch's meaning)."""

    def __init__(self, input_dim: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__()
        name = type(self).__name__
        self.input_dim = check_positive("input_dim", int(input_dim), name)
        self.hidden_size = check_positive("hidden_size", hidden_size, name)
        self.num_layers = check_positive("num_layers", num_layers, name)
        self.dropout = check_dropout(dropout, name)


class _TopLayerLSTM(_Recurrent):
    """Stacked LSTM whose top layer is its own single-layer module.

    Summaries need more of the top layer than ``nn.LSTM`` gives (c at the last real step, or c at
    every step), so the top layer's input must be at hand, dropout included.
    """

    def __init__(self, input_dim, hidden_size, num_layers, dropout):
        super().__init__(input_dim, hidden_size, num_layers, dropout)
        self.lower = None
        if num_layers > 1:
            self.lower = nn.LSTM(
                self.input_dim,
                hidden_size,
                num_layers=num_layers - 1,
                batch_first=True,
                dropout=dropout if num_layers > 2 else 0.0,
            )
        self.between = nn.Dropout(dropout)
        self.top = nn.LSTM(hidden_size if num_layers > 1 else self.input_dim, hidden_size, batch_first=True)

    def top_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.lower is None:
            return x
        x, _ = self.lower(x)
        return self.between(x)

    def top_weights(self):
        top = self.top
        return top.weight_ih_l0, top.weight_hh_l0, top.bias_ih_l0, top.bias_hh_l0


class RNNSummarizer(_Recurrent):
    """Vanilla tanh RNN; the summary is the top layer's output at the last real token, y_T."""

    def __init__(self, input_dim: int, hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.0):
        super().__init__(input_dim, hidden_size, num_layers, dropout)
        self.rnn = nn.RNN(
            self.input_dim,
            hidden_size,
            num_layers=num_layers,
            nonlinearity="tanh",
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output_dim = hidden_size

    def forward(self, x, lengths):
        out, _ = self.rnn(x)
        return gather_last(out, lengths)


class LSTMSummarizer(_TopLayerLSTM):
    """Unidirectional LSTM; ``state`` picks h_T, c_T or [h_T, c_T] of the top layer at the last real token."""

    def __init__(
        self,
        input_dim: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        state: Literal["h", "c", "hc"] = "h",
    ):
        if state not in ("h", "c", "hc"):
            raise ConfigError(f"LSTMSummarizer: state must be one of 'h', 'c', 'hc', got {state!r}")
        super().__init__(input_dim, hidden_size, num_layers, dropout)
        self.state = state
        self.output_dim = hidden_size * len(state)

    def final_states(self, x, lengths) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(h_T, c_T) of the top layer, each [B, H], at each sequence's last real step
        (c_T is None when the summary does not use it, which skips its small extra cost)."""
        x = self.top_input(x)
        if self.state == "h":
            out, _ = self.top(x)
            return gather_last(out, lengths), None
        out, c_last = lstm_last_cell_padded(x, lengths, *self.top_weights())
        return gather_last(out, lengths), c_last

    def forward(self, x, lengths):
        h, c = self.final_states(x, lengths)
        if self.state == "h":
            return h
        if self.state == "c":
            return c
        return torch.cat([h, c], dim=-1)


class BiLSTMSummarizer(_Recurrent):
    """Bidirectional LSTM; summary = [forward h at the last real token, backward h at the first token].

    The backward direction reads each sequence from its own last real token, never from padding.
    """

    def __init__(self, input_dim: int, hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.0):
        super().__init__(input_dim, hidden_size, num_layers, dropout)
        sizes = [self.input_dim] + [2 * hidden_size] * (num_layers - 1)
        self.forward_layers = nn.ModuleList(nn.LSTM(n, hidden_size, batch_first=True) for n in sizes)
        self.backward_layers = nn.ModuleList(nn.LSTM(n, hidden_size, batch_first=True) for n in sizes)
        self.between = nn.Dropout(dropout)
        self.output_dim = 2 * hidden_size

    def states(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """[B, T, 2H]: [forward h_t, backward h_t] of the top layer at every step. Real steps never
        see padding; steps past a sequence's length hold padding-driven values."""
        for depth, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if depth:
                x = self.between(x)
            out_f, _ = fwd(x)
            out_b, _ = bwd(reverse_within_length(x, lengths))
            x = torch.cat([out_f, reverse_within_length(out_b, lengths)], dim=-1)
        return x

    def forward(self, x, lengths):
        states = self.states(x, lengths)
        h = self.hidden_size
        return torch.cat([gather_last(states[..., :h], lengths), states[:, 0, h:]], dim=-1)


class BiLSTMMaxSummarizer(BiLSTMSummarizer):
    """Max over real steps of the BiLSTM states [forward h_t, backward h_t] (Conneau et al. 2017,
    InferSent's BiLSTM-max, where it beat last-state LSTMs and mean pooling)."""

    def forward(self, x, lengths):
        return masked_max(self.states(x, lengths), lengths)


class AvgCHSummarizer(_TopLayerLSTM):
    """Timewise mean over real tokens of [c_t, h_t] from the top LSTM layer.

    ``nn.LSTM`` returns c only for the last step, so every c_t is computed exactly by one of
    (see ``lstm_kernels``): ``fused``, an autograd Function with the same math as ``nn.LSTM`` (the
    CPU default); ``recompute``, cuDNN's h_t plus all gates in one matmul and a scan for c_t (the
    CUDA default); ``auto`` picks by device.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        impl: Literal["auto", "fused", "recompute"] = "auto",
    ):
        if impl not in ("auto", "fused", "recompute"):
            raise ConfigError(f"AvgCHSummarizer: impl must be 'auto', 'fused' or 'recompute', got {impl!r}")
        super().__init__(input_dim, hidden_size, num_layers, dropout)
        self.impl = impl
        self.output_dim = 2 * hidden_size

    def all_states(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h, c) of the top layer at every step, each [B, T, H]. Steps past a sequence's length
        hold padding-driven values; the recurrence is causal, so real steps never see them."""
        x = self.top_input(x)
        impl = self.impl
        if impl == "auto":
            impl = "recompute" if x.is_cuda else "fused"
        if impl == "fused":
            return lstm_all_states(x, *self.top_weights())
        h, _ = self.top(x)
        return h, cell_states_from_hidden(x, h, *self.top_weights())

    def forward(self, x, lengths):
        h, c = self.all_states(x, lengths)
        # The mean over real steps as one weighted sum per state (weight 1/length at real steps,
        # exactly 0 at padding, where states are finite): half the memory traffic of masking a
        # concatenated copy, forward and backward.
        weights = padding_mask(lengths, h.size(1)) / lengths.to(h.device).unsqueeze(1)
        return torch.cat(
            [torch.einsum("bt,bth->bh", weights.to(c.dtype), c), torch.einsum("bt,bth->bh", weights.to(h.dtype), h)],
            dim=-1,
        )
