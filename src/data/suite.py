"""The classic sentence-classification suite of Kim (2014) and SentEval, as ``conf/data/<set>.yaml``
configs, and which of its sets a local folder holds (``experiment=benchmark benchmark.data_root=DIR``).

A set is present in ``DIR`` when ``DIR/<set>/train.<ext>`` exists (any format ``LocalFiles`` reads),
the layout of ``../shared/data``. Looking needs no network, so the sweep's ``data`` parameter is
computed from the folder while Hydra sets the sweep up (the ``benchmark_sets`` resolver).
"""

from __future__ import annotations

import logging
from pathlib import Path

from .sources import find_split_file

log = logging.getLogger(__name__)

# conf/data/<set>.yaml for each
SUITE = ("mr", "cr", "subj", "mpqa", "sst2", "sst5", "trec")
_reported: set[tuple[str, tuple[str, ...]]] = set()


def local_sets(data_root: str | Path, sets=SUITE) -> tuple[list[str], list[str]]:
    """``(present, missing)``: the sets with ``<data_root>/<set>/train.<ext>``, and the others."""
    root = Path(data_root).expanduser()
    present = [s for s in sets if (root / s).is_dir() and find_split_file(root / s, "train")]
    return present, [s for s in sets if s not in present]


def sweep_sets(data_root: str | Path | None = None, sets=SUITE) -> str:
    """The sweep's ``data`` values: every set of the suite, or with ``data_root`` those found there
    (logging one line that names the missing ones). No set there is a one-line error."""
    from src.summarizers.base import ConfigError

    if data_root is None or str(data_root) == "":
        return ",".join(sets)
    root = Path(str(data_root)).expanduser()
    if not root.is_dir():
        raise ConfigError(f"benchmark.data_root={data_root}: no such folder")
    present, missing = local_sets(root, sets)
    if not present:
        raise ConfigError(
            f"benchmark.data_root={data_root} holds none of the sets {', '.join(sets)} (expected <set>/train.csv in it)"
        )
    if missing and (str(root), tuple(missing)) not in _reported:  # once per process, not once per job
        _reported.add((str(root), tuple(missing)))
        log.warning(
            "benchmark.data_root=%s: running %s; missing %s (no <set>/train.csv there)",
            data_root,
            ", ".join(present),
            ", ".join(missing),
        )
    return ",".join(present)


def set_folder(data_root: str | Path | None, name: str) -> str | None:
    """``<data_root>/<name>``, or None (read the Hub) without a data_root."""
    if data_root is None or str(data_root) == "":
        return None
    return str(Path(str(data_root)) / name)
