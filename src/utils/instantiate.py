"""Build callbacks and loggers from their config groups (one entry per key, ``_target_`` each)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


def instantiate_each(cfg: DictConfig | None) -> list:
    if not cfg:
        return []
    return [
        hydra.utils.instantiate(node) for node in cfg.values() if isinstance(node, DictConfig) and "_target_" in node
    ]


def instantiate_trainer(cfg: DictConfig, **kwargs):
    """The ``trainer`` config's ``Trainer``; a setting Lightning rejects (an accelerator this machine
    lacks or needs a package for, an unknown flag, a bad value) becomes a one-line ``ConfigError``
    naming ``trainer``."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    from src.summarizers.base import ConfigError
    from src.utils.precision import with_precision_plugin

    cfg = with_precision_plugin(cfg)  # precision=auto decided by the hardware; bf16 clips fused AdamW too
    try:
        return hydra.utils.instantiate(cfg, **kwargs)
    except Exception as exc:
        cause = root_cause(exc)
        if not isinstance(cause, (MisconfigurationException, ValueError, TypeError, ImportError)):
            raise
        lines = str(cause).strip().splitlines()
        raise ConfigError(f"trainer: {lines[0] if lines else type(cause).__name__}") from exc


def root_cause(exc: BaseException) -> BaseException:
    """The innermost explicit cause of an exception (Hydra wraps errors raised while instantiating
    with ``raise ... from``). Only to describe a bug: a user error is found with
    ``src.utils.errors.find_user_error``, which stops at the project's own error."""
    seen = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return exc
