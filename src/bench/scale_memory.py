"""Memory in the scale bench: one preparation of a set, in a fresh process so that its peak resident
memory (VmHWM) is that preparation's alone, and the line through the peaks over the sizes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from src.bench.scale_data import data_overrides


def vm_kib(field: str) -> int:
    """A ``/proc/self/status`` field (VmHWM: peak resident memory; VmRSS: now) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def child_prepare(csv_path: str, cache_dir: str, workdir: str) -> None:
    """Set up ``data=files data.train_file=<csv>`` and print one JSON line about it."""
    import hydra

    from src.bench.config import compose

    cfg = compose(data_overrides(csv_path, cache_dir), Path(workdir))
    datamodule = hydra.utils.instantiate(cfg.data)
    import_rss = vm_kib("VmRSS")
    start = time.perf_counter()
    datamodule.setup()
    seconds = time.perf_counter() - start
    splits = datamodule.splits.values()
    result = {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(vm_kib("VmHWM") / 1024, 1),
        "import_rss_mb": round(import_rss / 1024, 1),
        "tokens": int(sum(len(s.flat) for s in splits)),
        "docs_kept": int(sum(len(s) for s in splits)),
        "cache_hit": datamodule.cache_hit,
    }
    print("RESULT " + json.dumps(result))


def fit_memory(sizes: list[dict]) -> dict:
    """Cold peak = fixed + slope x tokens, least squares (one size: slope from the origin)."""
    tokens = np.array([s["tokens"] for s in sizes], dtype=float)
    peak = np.array([s["cold"]["peak_rss_mb"] * 2**20 for s in sizes])
    if len(sizes) > 1:
        slope, fixed = np.polyfit(tokens, peak, 1)
    else:
        slope, fixed = peak[0] / tokens[0], 0.0
    return {"fixed_mb": round(float(fixed) / 2**20, 1), "slope_bytes_per_token": round(float(slope), 2)}
