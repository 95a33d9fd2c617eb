"""W&B must never prompt or wait on a network unless asked: offline is the default."""

from __future__ import annotations

import os


def configure_wandb_env() -> None:
    """Offline unless WANDB_MODE is set by the user (e.g. WANDB_MODE=online)."""
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_CONSOLE", "off")
    os.environ.setdefault("WANDB_DISABLE_GIT", "true")


def finish_wandb_run() -> None:
    """End the current W&B run so the next job of a multirun starts a fresh one."""
    import sys

    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()
