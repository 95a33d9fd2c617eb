"""Errors the person running a command can fix, and runs stopped by a signal: one line each.

Every error a user can cause or fix subclasses :class:`UserError`: a bad file (``DataError``,
``src.data.sources``), a bad setting (``ConfigError``, ``src.summarizers.base``), a bad checkpoint
(:class:`CheckpointError`), a loss that turned non-finite (:class:`NumericsError`), an output that
cannot be written (:class:`WriteError`: full disk, read-only folder). The command-line wrapper
(``src.utils.cli.user_errors``) finds the first one in an exception's chain (so it also finds one
that Hydra or Lightning wrapped) and prints ``error: <one line>`` with exit status 2; anything else
is a bug and keeps its traceback.

:class:`RunInterrupted` is neither: a run stopped by SIGINT (Ctrl-C, exit status 130) or SIGTERM
(preemption, 143) after saving what it can; its line says how to resume.

This module imports nothing heavy, so an entry point can raise these before importing torch.
"""

from __future__ import annotations

import re


class UserError(Exception):
    """Something the user can fix: reported as ``error: <message>`` (one line), exit status 2."""

    exit_status = 2
    prefix = "error"


class CheckpointError(UserError, ValueError):
    """A missing, unreadable, unsafe or incompatible checkpoint, in one line naming the file."""


class NumericsError(UserError, FloatingPointError):
    """A non-finite loss: names the step and what to change (the learning rate, the data)."""


class WriteError(UserError, OSError):
    """An output that could not be written (full disk, read-only folder): names the path; the
    previous file, if any, is left as it was. Also an ``OSError``, for callers that carry on
    without an optional file (the tokenized-data cache)."""

    def __init__(self, path, cause: OSError):
        reason = cause.strerror or str(cause) or type(cause).__name__
        super().__init__(cause.errno, f"cannot write {path}: {reason}")
        self.filename = str(path)

    def __str__(self) -> str:
        return self.strerror


class RunInterrupted(Exception):
    """A run stopped by a signal (Ctrl-C or SIGTERM); never reported as a result."""

    prefix = "interrupted"

    def __init__(self, message: str, exit_status: int):
        super().__init__(message)
        self.exit_status = exit_status


def find_user_error(exc: BaseException | None) -> UserError | RunInterrupted | None:
    """The first :class:`UserError` or :class:`RunInterrupted` in ``exc``'s chain, outermost first.

    The chain is the one a traceback shows: ``raise ... from cause`` (Hydra's
    ``InstantiationException`` wraps errors so), else the exception being handled when this one
    was raised, unless ``from None`` hid it. OmegaConf re-raises an error from a resolver (e.g. the
    benchmark's ``${benchmark_sets:...}``) ``from None``, so its hidden context is followed too.
    Without one, an OmegaConf error that only a config can cause counts as one
    (:func:`interpolation_error`).
    """
    start, seen = exc, set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (UserError, RunInterrupted)):
            return exc
        seen.add(id(exc))
        hidden = exc.__suppress_context__ and not type(exc).__module__.startswith("omegaconf")
        exc = exc.__cause__ if exc.__cause__ is not None else (None if hidden else exc.__context__)
    return interpolation_error(start)


class InterpolationError(UserError):
    """A setting that cannot be resolved: its ``${...}`` points at itself (``seed='${seed}'``), at a
    key that does not exist or at one left ``???``, or it is ``???`` itself. Names the key."""


# OmegaConf's errors that only a config (a file or the command line) can cause; a resolver's own
# failure (OmegaConf wraps it in their parent class) may be a bug and keeps its traceback.
_INTERPOLATION_ERRORS = ("InterpolationKeyError", "InterpolationToMissingValueError", "MissingMandatoryValue")
_RECURSIVE = "Recursive interpolation detected"


def interpolation_error(exc: BaseException | None) -> InterpolationError | None:
    """An :class:`InterpolationError` for the first such OmegaConf error in ``exc``'s chain, or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name, message = type(exc).__name__, str(exc).strip().splitlines()
        recursive = name == "InterpolationResolutionError" and message and message[0] == _RECURSIVE
        if type(exc).__module__.startswith("omegaconf") and (name in _INTERPOLATION_ERRORS or recursive):
            key = getattr(exc, "full_key", None)
            text = "refers to itself" if recursive else (message[0] if message else name)
            if name == "MissingMandatoryValue":
                text = "has no value (???): set it"
            return InterpolationError(f"{key}: {text}" if key else text)
        exc = exc.__cause__ if exc.__cause__ is not None else exc.__context__
    return None


def one_line(exc: BaseException) -> str:
    """The message on one line. An error re-raised from a DataLoader worker carries the worker's
    traceback in its message: its last line (the original message) is kept."""
    text = str(exc).strip()
    if "Original Traceback (most recent call last)" in text:
        last = text.splitlines()[-1]
        text = re.sub(r"^[\w.]+: ", "", last)  # "src.data.sources.DataError: ..." -> "..."
    return " ".join(text.split()) or type(exc).__name__


def shown_names(names, width: int = 40, most: int = 10) -> str:
    """Column names for a one-line error: each cut to ``width`` characters, at most ``most`` of them
    (a header row may be a whole file's worth of text)."""
    names = list(names or [])
    shown = [name if len(name) <= width else name[: width - 3] + "..." for name in names[:most]]
    more = f", ... {len(names) - most} more" if len(names) > most else ""
    return (", ".join(shown) + more) or "none"
