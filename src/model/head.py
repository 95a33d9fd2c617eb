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
            nn.Linear(width, width * expansion),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(width * expansion, width),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(x))


class ResidualMLPHead(nn.Module):
    """Summary vector [B, input_dim] -> logits [B, num_classes] through ``depth`` residual blocks.

    ``width=None`` (with ``depth=0``) leaves only the output layer on the (dropped-out) summary: Kim's
    (2014) plain softmax layer, for reproducing his CNN under this protocol. ``max_norm`` caps the
    L2 norm of each class's output weight vector after every optimizer step, as Kim's code does (3).
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        width: int | None = 128,
        depth: int = 2,
        expansion: int = 2,
        dropout: float = 0.1,
        input_dropout: float = 0.0,
        max_norm: float | None = None,
    ):
        super().__init__()
        check_positive("expansion", expansion, "ResidualMLPHead")
        check_dropout(dropout, "ResidualMLPHead")
        # Dropout on the summary itself, as Kim (2014) drops the pooled features before the softmax.
        self.input_dropout = nn.Dropout(check_dropout(input_dropout, "ResidualMLPHead", "input_dropout"))
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
            raise ConfigError(f"ResidualMLPHead: depth must be an integer >= 0, got {depth!r}")
        if max_norm is not None and (
            isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0
        ):
            raise ConfigError(f"ResidualMLPHead: max_norm must be a positive number or null, got {max_norm!r}")
        self.max_norm = None if max_norm is None else float(max_norm)
        if width is None:
            if depth:
                raise ConfigError(f"ResidualMLPHead: width=null (a linear head) needs depth=0, got depth={depth}")
            self.project, self.blocks, self.norm = nn.Identity(), nn.Sequential(), nn.Identity()
            self.out = nn.Linear(input_dim, num_classes)
            return
        check_positive("width", width, "ResidualMLPHead")
        self.project = nn.Linear(input_dim, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, expansion, dropout) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, num_classes)

    def forward(self, summary: torch.Tensor) -> torch.Tensor:
        return self.out(self.norm(self.blocks(self.project(self.input_dropout(summary)))))

    @torch.no_grad()
    def apply_max_norm(self) -> None:
        """Rescale each class's output weights onto the ball of radius ``max_norm`` (no-op when unset)."""
        if self.max_norm is not None:
            norms = self.out.weight.norm(dim=1, keepdim=True)
            self.out.weight.mul_((self.max_norm / norms.clamp(min=1e-12)).clamp(max=1.0))
