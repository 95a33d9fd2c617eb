"""Pooling the word vectors themselves: no parameters, so any difference is the pooling's alone.

``mean`` is the course's order-blind bag of words; the others are the SWEM family of Shen et al.
(2018), "Baseline Needs More Love": max pooling, [mean; max], and hierarchical pooling, which keeps
local word order by averaging windows of n words before taking the max over windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Summarizer, check_positive, masked_max, masked_mean, padding_mask


def _at_steps(states: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """states [B, T, E], index [B, K] -> [B, K, E]."""
    return states.gather(1, index.unsqueeze(-1).expand(-1, -1, states.size(-1)))


class _Pooling(Summarizer):
    def __init__(self, input_dim: int, output_factor: int = 1):
        super().__init__()
        self.input_dim = check_positive("input_dim", int(input_dim), type(self).__name__)
        self.output_dim = output_factor * self.input_dim


class MeanSummarizer(_Pooling):
    """Timewise mean of the word vectors over real tokens: ignores word order by construction."""

    def __init__(self, input_dim: int):
        super().__init__(input_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return masked_mean(x, lengths)


class MaxSummarizer(_Pooling):
    """SWEM-max: each dimension's largest value over the real tokens."""

    def __init__(self, input_dim: int):
        super().__init__(input_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return masked_max(x, lengths)


class SWEMConcatSummarizer(_Pooling):
    """SWEM-concat: [mean; max] of the word vectors over the real tokens."""

    def __init__(self, input_dim: int):
        super().__init__(input_dim, output_factor=2)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.cat([masked_mean(x, lengths), masked_max(x, lengths)], dim=-1)


class SWEMHierSummarizer(_Pooling):
    """SWEM-hier: the mean of every window of ``window`` consecutive real tokens (stride 1), then the
    max over those windows. A sequence shorter than the window is one window: its mean.

    Only windows that lie wholly inside the real tokens are pooled, so padding never enters.
    """

    def __init__(self, input_dim: int, window: int = 5):
        super().__init__(input_dim)
        self.window = check_positive("window", window, "SWEMHierSummarizer")

    def window_means(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """([B, W, E] window means, [B] number of windows): window j covers steps j .. j + n - 1,
        with n = min(window, length) per sequence."""
        lengths = lengths.to(x.device)
        x = x.masked_fill(~padding_mask(lengths, x.size(1)).unsqueeze(-1), 0.0)
        n = torch.clamp(lengths, max=self.window)
        # Prefix sums over time, with a zero row in front: the sum of steps j..j+n-1 is S[j+n] - S[j].
        prefix = F.pad(x, (0, 0, 1, 0)).cumsum(dim=1)
        starts = torch.arange(x.size(1), device=x.device).unsqueeze(0)  # [1, T]
        ends = (starts + n.unsqueeze(1)).clamp(max=x.size(1))  # [B, T]
        means = (_at_steps(prefix, ends) - _at_steps(prefix, starts.expand_as(ends))) / n.to(x.dtype).view(-1, 1, 1)
        return means, lengths - n + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        means, windows = self.window_means(x, lengths)
        return masked_max(means, windows)
