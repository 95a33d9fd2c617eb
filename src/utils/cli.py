"""What the command-line entry points share: checkpoint checks and one-line user errors."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


def require_checkpoint(ckpt_path: str | None, usage: str) -> None:
    """Answer a missing or absent ``ckpt_path`` in one line, before any slow import."""
    if not ckpt_path:
        print(f"error: {usage}", file=sys.stderr)
        sys.exit(2)
    if not Path(ckpt_path).expanduser().is_file():
        print(f"error: checkpoint not found: {ckpt_path}", file=sys.stderr)
        sys.exit(2)


def run_reporting_user_errors(call: Callable[[], T], user_errors: tuple[str, ...]) -> T:
    """Run ``call``; an error whose root cause is one of ``user_errors`` (class names) becomes
    ``error: <message>`` on stderr and exit status 2, anything else keeps its traceback."""
    from src.utils.instantiate import root_cause

    try:
        return call()
    except Exception as exc:  # noqa: BLE001
        cause = root_cause(exc)
        if type(cause).__name__ in user_errors:
            print(f"error: {cause}", file=sys.stderr)
            sys.exit(2)
        raise
