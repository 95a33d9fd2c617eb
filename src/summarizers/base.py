"""The one contract every summarizer keeps (after AllenNLP's Seq2VecEncoder).

A summarizer maps right-padded word vectors ``x: [B, T, E]`` and ``lengths: [B]`` (int64,
1 <= lengths <= T) to one vector per sequence ``[B, output_dim]``. Padding (t >= lengths[b]) must
not change the output at all, so batches can be padded and bucketed freely. The classifier head is
sized from ``output_dim``; a new summarizer is one subclass plus one YAML file in conf/summarizer.
"""

from __future__ import annotations

import torch
from torch import nn

from src.utils.errors import UserError


class ConfigError(UserError, ValueError):
    """A bad setting, reported in one line before any training starts."""


def check_positive(name: str, value: int, owner: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


def check_dropout(value: float, owner: str, name: str = "dropout") -> float:
    if not 0.0 <= float(value) < 1.0:
        raise ConfigError(f"{owner}: {name} must be in [0, 1), got {value!r}")
    return float(value)


def padding_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """[B, T] bool, True at real tokens."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def gather_last(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """states [B, T, H] -> [B, H] at each sequence's last real step (t = lengths - 1)."""
    index = (lengths - 1).clamp(min=0).to(states.device).view(-1, 1, 1).expand(-1, 1, states.size(-1))
    return states.gather(1, index).squeeze(1)


def masked_mean(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Timewise mean over real steps only; padded positions get weight exactly zero."""
    mask = padding_mask(lengths, states.size(1)).unsqueeze(-1)
    total = states.masked_fill(~mask, 0.0).sum(dim=1)
    return total / lengths.to(states.dtype).clamp(min=1).unsqueeze(-1)


def _lowest_at_padding(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Padding filled with the dtype's lowest value, never 0: word vectors and states can be
    negative at every real step, and a 0 would then win a max."""
    mask = padding_mask(lengths, states.size(1)).unsqueeze(-1)
    return states.masked_fill(~mask, torch.finfo(states.dtype).min)


def masked_max(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Timewise max over real steps only."""
    return _lowest_at_padding(states, lengths).amax(dim=1)


def masked_argmax(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[B, H] step that each max of ``masked_max`` came from (for inspection)."""
    return _lowest_at_padding(states, lengths).argmax(dim=1)


class Summarizer(nn.Module):
    """Base class: subclasses set ``input_dim`` and ``output_dim`` and implement ``forward``."""

    input_dim: int
    output_dim: int

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, output_dim={self.output_dim}"
