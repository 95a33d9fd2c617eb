"""What the command-line entry points share: one-line user errors, and settings checked early.

:func:`user_errors` wraps the entry point of every command (``src.train``, ``src.eval``,
``src.predict``, ``src.bench``; under ``@hydra.main`` or around a plain ``main(argv)``):

* a :class:`~src.utils.errors.UserError` anywhere in the exception's chain (wrapped by Hydra or
  Lightning or not) prints ``error: <one line>`` on stderr and exits with status 2;
* a run stopped by a signal (:class:`~src.utils.errors.RunInterrupted`, or Ctrl-C anywhere) prints
  ``interrupted: <one line>`` and exits with 130 (SIGINT) or 143 (SIGTERM);
* anything else is a bug and keeps its traceback.

Inside a Hydra sweep (``-m``) a failed job does not end the sweep: its ``results.json`` records
``status: failed`` and the line (``error:`` on stderr as well; a bug's traceback goes to the log),
and the next job starts. A signal ends the sweep, after the sweep's end-of-sweep callbacks (the
report of the jobs that finished) have run.

:func:`check_settings` checks, before anything slow, the settings that reach library code
(optimizer, scheduler, batch sizes, lengths, epochs), with a line naming the key and the value.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from src.utils.errors import CheckpointError, RunInterrupted, UserError, find_user_error, one_line
from src.utils.instantiate import root_cause

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- the wrapper
def user_errors(task: F | None = None, *, failure_record: Callable[[Any], dict] | None = None):
    """Decorate a command's entry point (see the module doc). Under ``@hydra.main``::

        @hydra.main(version_base="1.3", config_path="../conf", config_name="train")
        @user_errors(failure_record=lambda cfg: {"summarizer": cfg.get("summarizer_name")})
        def main(cfg): ...

    or plainly ``@user_errors`` above ``def main(argv=None)``. ``failure_record(cfg)``: the fields a
    failed sweep job's ``results.json`` starts with (``status`` and ``error`` are added); without
    it a sweep job's failure is still not fatal to the sweep but writes no ``results.json``.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args, **kwargs):
            cfg = args[0] if args and _is_config(args[0]) else None
            try:
                return func(*args, **kwargs)
            except KeyboardInterrupt:  # Ctrl-C where no run was going on to stop cleanly
                _exit_interrupted(RunInterrupted("Ctrl-C", 130), cfg)
            except Exception as exc:
                found = find_user_error(exc)
                if isinstance(found, RunInterrupted):
                    _exit_interrupted(found, cfg)
                sweep_job = cfg is not None and _in_sweep()
                if isinstance(found, UserError):
                    message = one_line(found)
                    print(f"error: {message}", file=sys.stderr, flush=True)
                    if not sweep_job:
                        sys.exit(found.exit_status)
                    log.error("job failed: %s", message)
                elif not sweep_job:
                    raise
                else:  # a bug: the traceback goes to the job's log, the sweep goes on
                    cause = root_cause(exc)
                    message = f"{type(cause).__name__}: {one_line(cause)}"
                    log.exception("job failed: %s", message)
                if failure_record is not None:
                    _record_failure(cfg, failure_record, message)
                return None

        return run  # type: ignore[return-value]

    return decorate(task) if task is not None else decorate


def hydra_entry(main: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` command so that a bad command line (an unknown key or config option, a
    malformed override) is one ``error:`` line with exit status 2, like every other user error,
    instead of Hydra's own message and exit 1; a bug keeps its whole traceback
    (``HYDRA_FULL_ERROR=1`` unless the environment says otherwise)."""
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    try:
        main()
    except (ConfigCompositionException, MissingConfigException, OverrideParseException) as exc:
        message = one_line(exc).split(" Config search path:")[0]  # Hydra's search path is noise here
        prefix = "command line: " if isinstance(exc, OverrideParseException) else ""
        print(f"error: {prefix}{message}", file=sys.stderr, flush=True)
        sys.exit(2)


class _DropLightningTip(logging.Filter):
    """Lightning logs an advertisement for its cloud logger (litlogger) each time a ``Trainer`` is
    built, with no setting to turn it off; that one line goes, every other message stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().lstrip("💡 ").startswith("Tip: For seamless cloud logging")


def log_lightning_through_root() -> None:
    """``import lightning`` gives the ``lightning`` logger a console handler of its own, so under
    Hydra, whose handlers sit on the root logger, each Lightning message was printed twice (and
    only the root's copy reached the job's log file). Drop that handler when the root has its own,
    and Lightning's advertising line (``_DropLightningTip``)."""
    import lightning  # noqa: F401  (adds the handler)

    if logging.getLogger().hasHandlers():
        own = logging.getLogger("lightning")
        for handler in list(own.handlers):
            own.removeHandler(handler)
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")  # where rank_zero_info logs
    if not any(isinstance(f, _DropLightningTip) for f in rank_zero.filters):
        rank_zero.addFilter(_DropLightningTip())


def _is_config(value: Any) -> bool:
    from omegaconf import DictConfig

    return isinstance(value, DictConfig)


def _in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _record_failure(cfg, failure_record: Callable[[Any], dict], message: str) -> None:
    from src.utils.io import write_json_atomic

    try:
        record = {**failure_record(cfg), "status": "failed", "error": message}
        write_json_atomic(Path(cfg.paths.output_dir) / "results.json", record)
    except Exception as exc:  # noqa: BLE001  (a full disk must not also end the sweep)
        log.error("could not record the failure in results.json: %s", one_line(exc))


def _exit_interrupted(stop: RunInterrupted, cfg) -> None:
    print(f"{stop.prefix}: {one_line(stop)}", file=sys.stderr, flush=True)
    if cfg is not None and _in_sweep():
        _end_sweep_early(cfg)
    sys.exit(stop.exit_status)


def _end_sweep_early(cfg) -> None:
    """Run the sweep's ``on_multirun_end`` callbacks (the report of the jobs that finished), which
    Hydra runs only when every job has."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    hydra_cfg = HydraConfig.get()
    config = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    with open_dict(config):
        config.hydra = hydra_cfg
    for name, node in (hydra_cfg.get("callbacks") or {}).items():
        try:
            hydra.utils.instantiate(node).on_multirun_end(config=config)
        except Exception:
            log.exception("sweep callback %s failed", name)


# --------------------------------------------------------------------------- checks
def require_checkpoint(ckpt_path: str | None, usage: str) -> None:
    """A missing or absent ``ckpt_path`` as a one-line :class:`CheckpointError`, before any slow import."""
    if not ckpt_path:
        raise CheckpointError(usage)
    path = Path(str(ckpt_path)).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {ckpt_path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {ckpt_path} is not a file")


_ABSENT = object()
SEED_MAX = 2**32 - 1


def check_settings(cfg) -> None:
    """Check the settings that reach library code, before anything slow: one line naming the key
    and the value (a :class:`~src.summarizers.base.ConfigError`). Keys a config lacks are skipped,
    so the same check serves ``src.train``, ``src.eval`` and ``src.predict``."""
    from omegaconf import OmegaConf

    def check_int(key: str, minimum: int, nullable: bool = False, also: dict | None = None) -> None:
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
        if value is _ABSENT or (value is None and nullable) or (_is_int(value) and value in (also or {})):
            return
        if not _is_int(value) or value < minimum:
            kind = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
            extra = [f"{v} ({meaning})" for v, meaning in (also or {}).items()] + (["null"] if nullable else [])
            choices = ", ".join([kind, *extra[:-1]]) + f" or {extra[-1]}" if extra else kind
            raise _config_error(f"{key} must be {choices}, got {value!r}")

    def check_number(
        key: str,
        low: float,
        high: float | None = None,
        open_low: bool = False,
        open_high: bool = False,
        nullable: bool = False,
    ) -> None:
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
        if value is _ABSENT or (value is None and nullable):
            return
        _check_number(key, value, low, high, open_low, open_high)

    check_int("data.batch_size", 1)
    check_int("data.eval_batch_size", 1, nullable=True)  # null: data.batch_size
    check_int("data.max_length", 1, nullable=True)  # null: no limit
    check_int("data.num_workers", 0)
    check_int("data.pad_to_multiple", 1, nullable=True)  # null: each batch to its longest sequence
    check_int("data.min_frequency", 1)
    check_int("data.max_vocab", 3)  # [PAD], [UNK] and one word
    check_number("data.validation_fraction", 0.0, 1.0, open_low=True, open_high=True)
    check_number("data.test_fraction", 0.0, 1.0, open_low=True, open_high=True)
    check_int("batch_size", 1)  # src.predict
    check_int("max_length", 1, nullable=True)
    check_int("model.embedding.dim", 1)  # int() in the summarizers would take "1.5" badly, and 1.5 as 1
    check_int("threads", 1, nullable=True)
    threads, cores = OmegaConf.select(cfg, "threads", default=None), os.cpu_count() or 1
    if _is_int(threads) and threads > cores:  # OpenMP would try to start them all (and abort the process)
        raise _config_error(f"threads must be at most the {cores} CPU cores, got {threads}")
    flush = OmegaConf.select(cfg, "flush_denormal", default=True)
    if not isinstance(flush, bool):
        raise _config_error(f"flush_denormal must be true or false, got {flush!r}")
    check_int("seed", 0, nullable=True)
    seed = OmegaConf.select(cfg, "seed", default=None)
    if _is_int(seed) and seed > SEED_MAX:  # NumPy's (and so Lightning's seed_everything's) limit
        raise _config_error(f"seed must be an integer in [0, {SEED_MAX}], got {seed}")
    check_int("trainer.max_epochs", 1, nullable=True, also={-1: "no limit"})
    check_int("trainer.max_steps", 1, also={-1: "no limit"})
    check_int("trainer.min_epochs", 0, nullable=True)
    check_int("trainer.accumulate_grad_batches", 1)
    check_int("trainer.check_val_every_n_epoch", 1, nullable=True)
    check_int("trainer.log_every_n_steps", 1)
    check_int("trainer.num_sanity_val_steps", 0, also={-1: "all"})
    check_number("trainer.gradient_clip_val", 0.0, nullable=True)
    for key in ("trainer.limit_train_batches", "trainer.limit_val_batches", "trainer.limit_test_batches"):
        value = OmegaConf.select(cfg, key, default=None)
        if _is_int(value):
            check_int(key, 0)
        elif value is not None:
            check_number(key, 0.0, 1.0)
    if OmegaConf.select(cfg, "model.compile") is not None:
        from src.model.module import check_compile_mode

        check_compile_mode(OmegaConf.select(cfg, "model.compile"))
    if OmegaConf.select(cfg, "model.optimizer") is not None:
        _check_optimization(cfg)


def _check_optimization(cfg) -> None:
    """``model.optimizer`` and ``model.scheduler`` built on one dummy parameter: the library's own
    checks (an unknown optimizer or option, betas outside [0, 1), a scheduler factor >= 1) become
    a line naming the key; plus what the library lets through (a zero learning rate)."""
    import hydra
    import torch
    from omegaconf import OmegaConf

    optimizer_cfg = OmegaConf.select(cfg, "model.optimizer")
    if optimizer_cfg.get("lr") is not None:
        _check_number("model.optimizer.lr", optimizer_cfg.lr, 0.0, open_low=True)
    if optimizer_cfg.get("weight_decay") is not None:
        _check_number("model.optimizer.weight_decay", optimizer_cfg.weight_decay, 0.0)
    parameter = torch.nn.Parameter(torch.zeros(1))
    with torch.random.fork_rng(devices=[]):  # building draws no random numbers today; keep it so
        try:
            optimizer, problem = hydra.utils.instantiate(optimizer_cfg)(params=[parameter]), None
        except Exception as exc:  # noqa: BLE001  (any failure here is a bad setting: one line)
            optimizer, problem = None, _library_message(exc)
        if problem is not None:
            raise _config_error(f"model.optimizer: {problem}")
        scheduler_cfg = OmegaConf.select(cfg, "model.scheduler")
        if scheduler_cfg is not None:
            try:
                hydra.utils.instantiate(scheduler_cfg)(optimizer=optimizer)
                problem = None
            except Exception as exc:  # noqa: BLE001
                problem = _library_message(exc)
            if problem is not None:
                raise _config_error(f"model.scheduler: {problem}")


def _library_message(exc: BaseException) -> str:
    """The innermost error's first line (Hydra's own message is several lines around it)."""
    cause = root_cause(exc)
    lines = str(cause).strip().splitlines()
    return f"{lines[0] if lines else type(cause).__name__} ({type(cause).__name__})"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_number(
    key: str, value, low: float, high: float | None = None, open_low: bool = False, open_high: bool = False
) -> None:
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    bad = number is None or not math.isfinite(number) or (number <= low if open_low else number < low)
    if not bad and high is not None:
        bad = number >= high if open_high else number > high
    if bad:
        if high is not None:
            range_ = f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        else:
            range_ = f"{'>' if open_low else '>='} {low:g}"
        raise _config_error(f"{key} must be a number {range_}, got {value!r}")


def _config_error(message: str) -> UserError:
    from src.summarizers.base import ConfigError

    return ConfigError(message)
