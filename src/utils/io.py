"""Small file helpers."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from src.utils.errors import WriteError

# What atomic_write's temporary files are called: ".<name>." + mkstemp's 8 random characters + ".tmp"
_TEMP_FILE = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(path: str | Path, data: dict) -> Path:
    """``data`` as indented JSON via ``atomic_write``; serialised first, so a value JSON cannot
    hold fails before anything touches the disk."""
    text = json.dumps({k: _jsonable(v) for k, v in data.items()}, indent=2, sort_keys=False) + "\n"
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb", encoding: str = "utf-8") -> Iterator[IO]:
    """Write through a temp file next to ``path``, fsync, rename over it, fsync the folder.

    A reader, or a run killed at any moment, sees the old file or the whole new one, never half;
    a failure part-way leaves no temp file behind. The file gets the permissions a plain ``open()``
    would give (``mkstemp`` alone makes it owner-only, hiding results from colleagues). Text modes
    write ``encoding`` (UTF-8), whatever the locale.

    A failed write (full disk, read-only or missing permission, an I/O error; also when a writer
    such as ``torch.save`` reports it as its own error) raises :class:`~src.utils.errors.WriteError`:
    one line naming ``path``, the previous file left as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        blocking = next((p for p in path.parents if p.is_file()), None)
        if blocking is not None:  # mkdir's own words ("File exists") would not say which
            raise WriteError(path, OSError(exc.errno, f"{blocking} is a file, not a folder")) from exc
        raise WriteError(path, exc) from exc
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            os.fchmod(f.fileno(), 0o666 & ~current_umask())
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        cause = _os_error(exc)
        if cause is not None:
            raise WriteError(path, cause) from exc
        raise
    fsync_dir(path.parent)


def remove_leftover_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files of :func:`atomic_write` in ``folder``: a process SIGKILLed while
    writing never reaches the ``except`` that removes its own. Only for a folder a job owns, at
    the job's start (its earlier, killed attempt left them; nothing else writes there)."""
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        if _TEMP_FILE.fullmatch(path.name) and path.is_file():
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def _os_error(exc: BaseException) -> OSError | None:
    """The ``OSError`` a failed write raised: ``exc`` itself, or the one a library's own error was
    raised while handling (``torch.save`` turns a full disk into a ``RuntimeError``)."""
    if isinstance(exc, WriteError):
        return None  # already reported, with its own path
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (a power cut after it must not bring the old file back)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not support fsync on a directory
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask
