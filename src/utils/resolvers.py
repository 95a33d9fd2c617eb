"""OmegaConf resolvers the configs use; registered when ``src.utils.resolvers`` is imported."""
from __future__ import annotations

import uuid
from pathlib import Path

from omegaconf import OmegaConf


def _unique_id() -> str:
    # Cached per process (like Hydra's own ${now:}), so every job of a sweep agrees on it.
    return uuid.uuid4().hex[:6]


def _sweep_group() -> str:
    """The sweep dir's name in a multirun (shared by its jobs), the run dir's name otherwise."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return "interactive"
    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:
        return Path(hc.sweep.dir).name
    return Path(hc.runtime.output_dir).name


def _summarizers(family: str = "all") -> str:
    """``${summarizers:course}`` -> "mean,rnn,...": a sweep over one family of the registry."""
    from src.summarizers.registry import summarizer_names

    return ",".join(summarizer_names(family))


def register() -> None:
    if not OmegaConf.has_resolver("unique_id"):
        OmegaConf.register_new_resolver("unique_id", _unique_id, use_cache=True)
    if not OmegaConf.has_resolver("sweep_group"):
        OmegaConf.register_new_resolver("sweep_group", _sweep_group)
    if not OmegaConf.has_resolver("summarizers"):
        OmegaConf.register_new_resolver("summarizers", _summarizers)


register()
