"""Small file helpers."""
from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


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
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Write through a temp file next to ``path``, fsync, rename over it, fsync the folder.

    A reader, or a run killed at any moment, sees the old file or the whole new one, never half;
    a failure part-way leaves no temp file behind. The file gets the permissions a plain ``open()``
    would give (``mkstemp`` alone makes it owner-only, hiding results from colleagues).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


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
