"""Small file helpers."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(path: str | Path, data: dict) -> Path:
    """Write to a temp file in the same dir, then rename: a reader never sees half a file.

    The file gets the permissions a plain ``open()`` would give (``mkstemp`` alone makes it
    owner-only, which hides results from colleagues on a shared machine), and a failure part-way
    leaves neither a temp file nor a changed target behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({k: _jsonable(v) for k, v in data.items()}, indent=2, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def current_umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask
