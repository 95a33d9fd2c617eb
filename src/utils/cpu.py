"""The process's CPU arithmetic, set once by every command before torch starts its worker threads."""

from __future__ import annotations

from collections.abc import Mapping

from omegaconf import DictConfig


def configure_cpu(cfg: DictConfig | Mapping) -> None:
    """Flush subnormal floats to zero (unless ``cfg.flush_denormal`` is false), then use
    ``threads_per_job(cfg)`` threads.

    Why flush: backpropagation through long LSTM sequences drives gradients below float32's
    normal range (1.2e-38) early in training, and x86 cores compute on such subnormals about 100x
    slower: one epoch of 126-token documents ran 2.8x longer (docs/performance.md). Values that
    small are below any gradient's precision; on MR, CR and TREC the weights after 1-3 epochs are
    bit-identical either way. The flag is per thread, and torch's pool threads copy it when the
    first parallel operation creates them, so commands call this before any tensor work.
    """
    import torch

    from src.utils.launcher import threads_per_job

    torch.set_flush_denormal(cfg.get("flush_denormal", True))  # a bool: check_settings saw to it
    threads = threads_per_job(cfg)
    if threads:
        torch.set_num_threads(threads)
