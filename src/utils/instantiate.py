"""Build callbacks and loggers from their config groups (one entry per key, ``_target_`` each)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig


def instantiate_each(cfg: DictConfig | None) -> list:
    if not cfg:
        return []
    return [hydra.utils.instantiate(node) for node in cfg.values()
            if isinstance(node, DictConfig) and "_target_" in node]


def root_cause(exc: BaseException) -> BaseException:
    """The innermost cause of an exception (Hydra wraps errors raised while instantiating)."""
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return exc
