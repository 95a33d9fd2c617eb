"""What the property-based fuzz tests share: their budget, a per-example time limit, and the property
every one of them checks on a failure (what the command line would print: one ``error:`` line).

The budget: each test has a CI budget of examples (small, a fixed sequence: ``derandomize=True``,
no example database), so that all fuzz tests run in under a minute on two cores. ``pytest
--fuzz-examples N`` or ``SEQ2VEC_FUZZ_EXAMPLES=N`` gives every test N examples instead (a test
whose examples each train a model gets N // its ``cost``).
"""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings

from src.utils.errors import UserError, find_user_error, one_line

ENV = "SEQ2VEC_FUZZ_EXAMPLES"
BUDGET: dict[str, int | None] = {"examples": None}  # set by tests/conftest.py from --fuzz-examples
EXAMPLE_SECONDS = 60  # one example taking longer is a hang
MESSAGE_CHARS = 400  # an error line's length, not counting the file names in it


def examples(ci: int, cost: int = 1) -> int:
    """How many examples a test with CI budget ``ci`` runs now."""
    wanted = BUDGET["examples"] or int(os.environ.get(ENV) or 0)
    return max(1, wanted // cost) if wanted else ci


def fuzz(ci: int, cost: int = 1) -> settings:
    """Hypothesis settings of a fuzz test: ``examples(ci, cost)`` examples in a fixed sequence
    (a costly test's failure is reported as found, not shrunk: shrinking would rerun it hundreds of times)."""
    return settings(
        phases=[Phase.explicit, Phase.generate] if cost > 1 else list(Phase),
        max_examples=examples(ci, cost),
        derandomize=True,
        database=None,
        deadline=None,  # a loaded machine makes deadlines flaky; time_limit catches hangs
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


class Hang(BaseException):
    """An example ran past its time limit (a BaseException: no ``except Exception`` swallows it)."""


@contextmanager
def time_limit(seconds: float = EXAMPLE_SECONDS) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread after ``seconds`` (SIGALRM; Python code only: a loop
    inside a C library is caught by pytest-timeout instead)."""

    def expire(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_one_line(exc: BaseException, where: str | Path | None = None) -> str:
    """``exc`` must be what ``src.utils.cli.user_errors`` prints as one ``error:`` line (a
    UserError in its chain, not a bug's traceback), short, naming ``where`` (a file: its name);
    returns the line."""
    found = find_user_error(exc)
    trace = "".join(traceback.format_exception(exc))[-4000:]
    assert isinstance(found, UserError), f"a traceback, not one line:\n{trace}"
    line = one_line(found)
    rest = line
    if where is not None:
        name = Path(where).name if isinstance(where, Path) else where
        assert name in line, f"the line does not name {name}: {line[:1000]}"
        rest = rest.replace(str(where), "").replace(name, "")
    assert 0 < len(rest) <= MESSAGE_CHARS, f"{len(rest)} characters in one line: {line[:1000]}..."
    return line


def train_within_limit(cfg) -> dict:
    """``src.train.train(cfg)`` within the time limit. A run sets the process's flush-to-zero flag
    (``flush_denormal``), which would make hypothesis's own float drawing fail: it is set back."""
    import torch

    from src.train import train

    try:
        with time_limit():
            return train(cfg)
    finally:
        torch.set_flush_denormal(False)
