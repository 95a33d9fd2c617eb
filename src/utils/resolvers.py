"""OmegaConf resolvers the configs use; registered when ``src.utils.resolvers`` is imported."""

from __future__ import annotations

import sys
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


def _benchmark_sets(data_root: str | None = None, *, _root_=None) -> str:
    """``${benchmark_sets:${benchmark.data_root}}`` -> "mr,cr,...": the classic suite, or the sets found
    in a local folder (one log line names the missing ones; none found is a one-line ConfigError)."""
    from src.data.suite import sweep_sets
    from src.summarizers.base import ConfigError

    try:
        return sweep_sets(data_root)
    except ConfigError as exc:
        if "MULTIRUN" not in str(OmegaConf.select(_root_, "hydra.mode", default="")):
            raise
        # A multirun evaluates its sweep parameters before any job starts, outside the entry points'
        # one-line error handling: answer the same way (error: ..., exit status 2), not with a traceback.
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _benchmark_data_dir(data_root: str | None, name: str) -> str | None:
    """``${benchmark_data_dir:${benchmark.data_root},${data.name}}`` -> "<root>/<name>", or null (the Hub)."""
    from src.data.suite import set_folder

    return set_folder(data_root, name)


def _monitor(metric: str = "accuracy") -> str:
    """``${monitor:${data.metric}}`` -> "val/acc" for accuracy, "val/<metric>" otherwise (src.model.metrics)."""
    from src.model.metrics import monitor

    return monitor(metric)


def register() -> None:
    if not OmegaConf.has_resolver("unique_id"):
        OmegaConf.register_new_resolver("unique_id", _unique_id, use_cache=True)
    if not OmegaConf.has_resolver("sweep_group"):
        OmegaConf.register_new_resolver("sweep_group", _sweep_group)
    if not OmegaConf.has_resolver("summarizers"):
        OmegaConf.register_new_resolver("summarizers", _summarizers)
    if not OmegaConf.has_resolver("benchmark_sets"):
        OmegaConf.register_new_resolver("benchmark_sets", _benchmark_sets)
    if not OmegaConf.has_resolver("benchmark_data_dir"):
        OmegaConf.register_new_resolver("benchmark_data_dir", _benchmark_data_dir)
    if not OmegaConf.has_resolver("monitor"):
        OmegaConf.register_new_resolver("monitor", _monitor)


register()
