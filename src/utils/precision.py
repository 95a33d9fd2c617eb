"""``trainer.precision=auto``: bf16 autocast only where the hardware computes bf16 natively.

On a CPU without AVX512_BF16 or AMX, oneDNN emulates bf16 matmuls through float32 and a bf16 step is
slower than a float32 one, so ``auto`` reads the CPU's flags rather than asking torch, whose
``_is_mkldnn_bf16_supported`` is true for any AVX-512 CPU (emulated). ``bf16-mixed`` keeps the
weights, the optimizer's state, the loss and the metrics in float32; only autocast's list of
matmul-like ops (and the avg_ch kernel's big products) run in bf16 (docs/performance.md, bf16).
A CPU without AVX-512 (an AVX2-only AMD EPYC, for one) has no bf16 in oneDNN at all: there an LSTM
under bf16 autocast fails inside oneDNN, so an explicit ``bf16-mixed`` is refused before training.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.utilities import GradClipAlgorithmType

log = logging.getLogger(__name__)

# Instruction-set flags (as /proc/cpuinfo names them) with which a CPU multiplies bf16 natively.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
AUTO = "auto"
BF16, FP32 = "bf16-mixed", "32-true"


def cpu_flags(cpuinfo: str | Path | None = None) -> set[str]:
    """The first processor's flags; empty where the file is absent or unreadable (not Linux).
    ``SEQ2VEC_CPUINFO`` names another file to read (the tests give a run both kinds of CPU)."""
    cpuinfo = cpuinfo or os.environ.get("SEQ2VEC_CPUINFO", "/proc/cpuinfo")
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def native_bf16_flags(flags: set[str] | None = None) -> list[str]:
    """The CPU's flags among ``NATIVE_BF16_FLAGS`` (empty: bf16 would be emulated)."""
    flags = cpu_flags() if flags is None else flags
    return [flag for flag in NATIVE_BF16_FLAGS if flag in flags]


def cpu_model(cpuinfo: str | Path | None = None) -> str:
    """The CPU's model name, for reports that give a timing the machine it came from."""
    cpuinfo = cpuinfo or os.environ.get("SEQ2VEC_CPUINFO", "/proc/cpuinfo")
    try:
        for line in Path(cpuinfo).read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def onednn_has_bf16() -> bool:
    """Whether oneDNN computes bf16 on this CPU (natively or emulated through AVX-512); without it an
    ``nn.LSTM`` under bf16 autocast fails ("could not create a primitive descriptor")."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def refuse_bf16_without_onednn(what: str) -> None:
    """A one-line error for ``what`` (the setting that asked for bf16) on a CPU whose oneDNN has no bf16."""
    if onednn_has_bf16():
        return
    from src.summarizers.base import ConfigError

    raise ConfigError(
        f"{what}: this CPU ({cpu_model()}) has no bf16 in oneDNN (no AVX-512): LSTM layers cannot run in "
        "bf16 here and the rest would be emulated, slower; use 32-true or auto"
    )


def on_gpu(accelerator: str) -> bool:
    """Whether a trainer with this ``accelerator`` runs on a CUDA GPU (``auto``: when one is there)."""
    import torch

    return accelerator in ("gpu", "cuda") or (accelerator == AUTO and torch.cuda.is_available())


def resolve_precision(precision, accelerator: str = "cpu", flags: set[str] | None = None) -> str:
    """``auto`` -> ``bf16-mixed`` on a CUDA GPU with bf16 or a CPU with native bf16, else ``32-true``;
    any other value is returned as it is (Lightning checks it)."""
    if str(precision) != AUTO:
        return precision
    import torch

    if on_gpu(accelerator):
        chosen = BF16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else FP32
        log.info("precision auto -> %s (CUDA %s)", chosen, "with bf16" if chosen == BF16 else "without bf16")
        return chosen
    native = native_bf16_flags(flags)
    chosen = BF16 if native else FP32
    log.info("precision auto -> %s (CPU flags: %s)", chosen, ", ".join(native) or "no native bf16")
    return chosen


class BF16MixedPrecision(MixedPrecision):
    """Lightning's ``bf16-mixed`` that also clips gradients of a fused optimizer (the default AdamW).

    Lightning refuses to clip for any optimizer that "unscales gradients itself", a rule for fp16's
    GradScaler; bf16 has no scaler, so the gradients the clip sees are the true ones and the rule
    does not apply (without this, bf16 with fused AdamW and gradient_clip_val fails at the first step).
    """

    def __init__(self, device: str = "cpu"):
        super().__init__(precision="bf16-mixed", device=device)

    def clip_gradients(self, optimizer, clip_val=0.0, gradient_clip_algorithm=GradClipAlgorithmType.NORM) -> None:
        Precision.clip_gradients(self, optimizer, clip_val, gradient_clip_algorithm)


def with_precision_plugin(cfg):
    """The trainer config with ``auto`` resolved and ``bf16-mixed`` as a ``BF16MixedPrecision`` plugin."""
    accelerator = str(cfg.get("accelerator", "cpu"))
    if cfg.get("precision") == BF16 and not on_gpu(accelerator):  # auto picks bf16 only where oneDNN has it
        refuse_bf16_without_onednn("trainer.precision=bf16-mixed")
    chosen = resolve_precision(cfg.get("precision"), accelerator)
    if chosen == cfg.get("precision") and chosen != BF16:
        return cfg
    from omegaconf import open_dict

    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.precision = chosen
        if chosen == BF16:
            device = "cuda" if str(cfg.get("accelerator")) in ("gpu", "cuda") else "cpu"
            cfg.precision = None
            plugin = {"_target_": f"{__name__}.BF16MixedPrecision", "device": device}
            cfg.plugins = [*(cfg.get("plugins") or []), plugin]
    return cfg
