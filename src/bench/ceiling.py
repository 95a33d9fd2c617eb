"""The device's compute ceiling, measured honestly, so that "the LSTM reaches x of the limit" means
something.

One large matrix product is not a ceiling: on a 2-core AVX-512 CPU oneDNN's LSTM kernel ran faster
than a 2048 x 2048 ``torch.matmul`` (issue 15). The ceiling here is the best of several routes to
the same FLOPs in the same dtype, each the best (not the median) of its repeats:

* square matrix products of several sizes (``torch.matmul``: MKL / cuBLAS);
* the LSTM's own GEMM shapes (its input projection over all steps, its per-step gate product
  with input and state concatenated) as ``F.linear``;
* on CPU, the same shapes through oneDNN (``torch.utils.mkldnn``), the library behind the LSTM;

and, on CPU, a cross-check from the hardware: fused-multiply-add lanes x 2 FLOPs x FMA units x
cores x clock, from the CPU's flags and the highest clock the OS reports. That figure assumes two
FMA units per core (the most any x86 core has), so it is an upper bound unless the core runs above
the reported clock (turbo inside a virtual machine, which reports the nominal clock).
``limit_gflops`` is the largest of them all and ``limit_source`` names which one bounds it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def _best_seconds(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up: allocation, kernel selection
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def measured_routes(
    device: torch.device, dtype: torch.dtype, lstm_shapes: dict[str, tuple[int, int, int]], repeats: int = 7
) -> dict[str, float]:
    """GFLOP/s of each route (best of ``repeats``). ``lstm_shapes``: name -> (rows, in, out) of a
    product ``[rows, in] @ [in, out]``."""
    out = {}
    sizes = (2048, 4096, 8192) if device.type == "cuda" else (512, 1024, 2048, 4096)
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        reps = max(1, repeats if n <= 2048 else repeats // 2)
        out[f"matmul_{n}"] = 2 * n**3 / _best_seconds(lambda a=a, b=b: a @ b, device, reps) / 1e9
    for name, (rows, fan_in, fan_out) in lstm_shapes.items():
        x = torch.randn(rows, fan_in, device=device, dtype=dtype)
        w = torch.randn(fan_out, fan_in, device=device, dtype=dtype)
        flops = 2 * rows * fan_in * fan_out
        loops = max(1, int(2e9 // flops))  # small products: time a batch of calls
        per = _best_seconds(lambda x=x, w=w, k=loops: [F.linear(x, w) for _ in range(k)], device, repeats)
        out[f"linear_{name}"] = flops * loops / per / 1e9
        if device.type == "cpu" and dtype == torch.float32 and torch.backends.mkldnn.is_available():
            from torch.utils import mkldnn as mkldnn_utils

            layer = torch.nn.Linear(fan_in, fan_out, bias=False)
            layer.weight.data.copy_(w)
            onednn = mkldnn_utils.to_mkldnn(layer)
            xm = x.to_mkldnn()
            with torch.no_grad():
                per = _best_seconds(lambda m=onednn, xm=xm, k=loops: [m(xm) for _ in range(k)], device, repeats)
            out[f"onednn_{name}"] = flops * loops / per / 1e9
    return out


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_clock_ghz() -> float | None:
    """The highest clock the OS reports for this CPU: cpufreq's maximum where it exists (bare
    metal), else /proc/cpuinfo's "cpu MHz" (in a VM: the nominal clock)."""
    candidates = []
    for path in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/cpuinfo_max_freq"):
        try:
            candidates.append(int(path.read_text()) / 1e6)
        except (OSError, ValueError):
            pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                candidates.append(float(line.split(":", 1)[1]) / 1e3)
    except (OSError, ValueError):
        pass
    return max(candidates) if candidates else None


def fma_peak_gflops(threads: int, flags: set[str] | None = None, clock_ghz: float | None = None) -> dict | None:
    """fp32 peak from the hardware: lanes (16 with AVX-512, 8 with AVX2/FMA) x 2 FLOPs a fused
    multiply-add x 2 FMA units x cores x clock. None where the flags or the clock cannot be read."""
    flags = cpu_flags() if flags is None else flags
    clock_ghz = cpu_clock_ghz() if clock_ghz is None else clock_ghz
    if "avx512f" in flags:
        lanes = 16
    elif "fma" in flags and "avx2" in flags:
        lanes = 8
    else:
        return None
    if not clock_ghz:
        return None
    cores = min(threads, os.cpu_count() or threads)
    units = 2
    return {
        "gflops": lanes * 2 * units * cores * clock_ghz,
        "lanes": lanes,
        "fma_units_assumed": units,
        "cores": cores,
        "clock_ghz": clock_ghz,
    }


def ceiling(device: torch.device, dtype: torch.dtype, lstm_shapes: dict[str, tuple[int, int, int]]) -> dict:
    """Every route's GFLOP/s, the hardware cross-check, and the limit (the largest) with its source."""
    routes = measured_routes(device, dtype, lstm_shapes)
    result: dict = {"routes_gflops": routes}
    candidates = dict(routes)
    if device.type == "cpu" and dtype == torch.float32:
        fma = fma_peak_gflops(torch.get_num_threads())
        result["fma_peak"] = fma
        if fma:
            candidates["fma_peak"] = fma["gflops"]
    source = max(candidates, key=candidates.get)
    result.update(limit_gflops=candidates[source], limit_source=source)
    return result
