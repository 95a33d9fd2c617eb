"""The classifier head every summarizer shares, so differences in the table come from the summary."""
from __future__ import annotations

import torch
from torch import nn

from src.summarizers.base import ConfigError, check_dropout, check_positive


class ResidualBlock(nn.Module):
    """x + MLP(LayerNorm(x)): pre-norm residual MLP block (the course's "Residual MLP module")."""

    def __init__(self, width: int, expansion: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, width * expansion), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(width * expansion, width), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(x))


class ResidualMLPHead(nn.Module):
    """Summary vector [B, input_dim] -> logits [B, num_classes] through ``depth`` residual blocks."""

    def __init__(self, input_dim: int, num_classes: int, width: int = 128, depth: int = 2,
                 expansion: int = 2, dropout: float = 0.1, input_dropout: float = 0.0):
        super().__init__()
        check_positive("width", width, "ResidualMLPHead")
        check_positive("expansion", expansion, "ResidualMLPHead")
        check_dropout(dropout, "ResidualMLPHead")
        # Dropout on the summary itself, as Kim (2014) drops the pooled features before the softmax.
        self.input_dropout = nn.Dropout(check_dropout(input_dropout, "ResidualMLPHead", "input_dropout"))
        if not isinstance(depth, int) or depth < 0:
            raise ConfigError(f"ResidualMLPHead: depth must be an integer >= 0, got {depth!r}")
        self.project = nn.Linear(input_dim, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, expansion, dropout) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, num_classes)

    def forward(self, summary: torch.Tensor) -> torch.Tensor:
        return self.out(self.norm(self.blocks(self.project(self.input_dropout(summary)))))
