"""Kim's (2014) CNN, "Convolutional Neural Networks for Sentence Classification": filters of
several widths over the word vectors, ReLU, max over time; the summary is the pooled feature maps.

Padding rule: each sequence is framed by ``w - 1`` zero vectors on both sides for a filter of width
w (a "wide" convolution, as Kim's own code pads every sentence with zeros), and only windows that
overlap at least one real token are pooled. A sequence shorter than the widest filter therefore
still has windows for every width (L + w - 1 of them), and its summary equals that of the same
sequence alone: batch padding is zeroed before the convolution, and windows that lie wholly in it
are masked with the dtype's lowest value before the max.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import ConfigError, Summarizer, check_positive, masked_max, padding_mask


class CNNSummarizer(Summarizer):
    def __init__(self, input_dim: int, widths: tuple[int, ...] | list[int] = (3, 4, 5), maps: int = 100):
        super().__init__()
        self.input_dim = check_positive("input_dim", int(input_dim), "CNNSummarizer")
        widths = list(widths)
        if not widths:
            raise ConfigError("CNNSummarizer: widths must list at least one filter width")
        self.widths = [check_positive("widths[]", w, "CNNSummarizer") for w in widths]
        self.maps = check_positive("maps", maps, "CNNSummarizer")
        self.convs = nn.ModuleList(nn.Conv1d(self.input_dim, maps, w, padding=w - 1) for w in self.widths)
        self.output_dim = maps * len(self.widths)

    def feature_maps(self, x: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Per width w, [B, T + w - 1, maps] pre-activation filter responses; window j covers steps
        j - w + 1 .. j, and the first ``length + w - 1`` windows are the real ones."""
        lengths = lengths.to(x.device)
        x = x.masked_fill(~padding_mask(lengths, x.size(1)).unsqueeze(-1), 0.0).transpose(1, 2)
        return [conv(x).transpose(1, 2) for conv in self.convs]

    def forward(self, x, lengths):
        lengths = lengths.to(x.device)  # once here; feature_maps' own move is then a no-op
        pooled = [masked_max(maps, lengths + w - 1) for maps, w in zip(self.feature_maps(x, lengths), self.widths)]
        return F.relu(torch.cat(pooled, dim=-1))  # ReLU after the max: the same value, a fraction of the work
