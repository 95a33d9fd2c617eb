"""bf16 on CPU: every summarizer trains under autocast, the avg_ch kernel's bf16 products stay close to
float32, and ``trainer.precision=auto`` picks bf16 only where the CPU has native bf16."""

from __future__ import annotations

import json

import hydra
import pytest
import torch

from src.summarizers import lstm_kernels
from src.utils import precision
from tests.helpers import SUMMARIZERS, tiny
from tests.test_train import run_train

E, H = 8, 6


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


@pytest.mark.parametrize("name", SUMMARIZERS)
def test_every_summarizer_runs_forward_and_backward_under_bf16_autocast(name, train_config):
    cfg = train_config(f"summarizer={name}")
    if "hidden_size" in cfg.summarizer:
        cfg.summarizer.hidden_size = H
    torch.manual_seed(0)
    model = hydra.utils.instantiate(cfg.summarizer, input_dim=E)
    x, lengths = torch.randn(4, 11, E, requires_grad=True), torch.tensor([11, 3, 7, 1])
    reference = model(x, lengths)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x, lengths)
    except RuntimeError as exc:  # AVX2-only CPUs: no bf16 LSTM in oneDNN (training refuses bf16 there)
        if precision.onednn_has_bf16() or "primitive descriptor" not in str(exc):
            raise
        pytest.skip(f"{name}: this CPU's oneDNN has no bf16 LSTM")
    out.float().square().sum().backward()
    assert out.shape == reference.shape and torch.isfinite(out).all()
    # bf16 keeps about 3 significant digits; a summary this far off would be a broken path, not rounding
    assert relative_error(out, reference) < 0.05
    grads = [x.grad] + [p.grad for p in model.parameters() if p.requires_grad]  # mean, max, swem: x only
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert x.grad[1, 3:].abs().max() == 0  # padding gets no gradient in bf16 either
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32


def kernel_run(autocast: bool):
    torch.manual_seed(0)
    x = torch.randn(8, 20, 16, requires_grad=True)
    weights = [
        (torch.randn(4 * 12, 16) * 0.3).requires_grad_(),
        (torch.randn(4 * 12, 12) * 0.3).requires_grad_(),
        (torch.randn(4 * 12) * 0.1).requires_grad_(),
        (torch.randn(4 * 12) * 0.1).requires_grad_(),
    ]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        h, c = lstm_kernels.lstm_all_states(x, *weights)
    g = torch.Generator().manual_seed(1)
    loss = (h * torch.randn(h.shape, generator=g)).sum() + (c * torch.randn(c.shape, generator=g)).sum()
    loss.backward()
    return h.detach(), c.detach(), [t.grad for t in (x, *weights)]


def test_avg_ch_kernel_in_bf16_is_within_two_percent_of_float32_and_really_uses_bf16():
    h32, c32, grads32 = kernel_run(autocast=False)
    h16, c16, grads16 = kernel_run(autocast=True)
    assert h16.dtype == c16.dtype == torch.float32  # the states are float32 whatever the products
    errors = [relative_error(h16, h32), relative_error(c16, c32)]
    errors += [relative_error(a, b) for a, b in zip(grads16, grads32)]
    # Measured: 0.3-0.6% on every output and gradient (bf16 rounds at 2^-8 = 0.4%); tolerance 2%.
    assert max(errors) < 0.02, errors
    # and bf16 is really used: float32 products would agree to ~1e-7
    assert min(errors) > 1e-4, errors


def test_the_kernel_runs_its_big_products_in_the_autocast_dtype(monkeypatch):
    seen = []
    real_mm = lstm_kernels._mm

    def spy(a, b, low):
        seen.append(low)
        return real_mm(a, b, low)

    monkeypatch.setattr(lstm_kernels, "_mm", spy)
    kernel_run(autocast=True)
    assert seen == [torch.bfloat16] * 4  # input projection; input, w_ih and w_hh gradients
    seen.clear()
    kernel_run(autocast=False)
    assert seen == [None] * 4


CPUINFO = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse avx512f {extra}\n\n"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [("", "32-true"), ("avx512bw avx512_vnni", "32-true"), ("avx512_bf16", "bf16-mixed"), ("amx_bf16", "bf16-mixed")],
)
def test_auto_precision_uses_bf16_only_with_a_native_bf16_flag(tmp_path, monkeypatch, extra, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(extra=extra))
    assert precision.resolve_precision("auto", "cpu", flags=precision.cpu_flags(cpuinfo)) == expected
    assert precision.cpu_model(cpuinfo) == "Test CPU 9000"


def test_auto_precision_falls_back_to_float32_without_cpuinfo_and_leaves_explicit_values(tmp_path):
    assert precision.cpu_flags(tmp_path / "absent") == set()
    assert precision.resolve_precision("auto", "cpu", flags=set()) == "32-true"
    assert precision.resolve_precision("bf16-mixed", "cpu", flags=set()) == "bf16-mixed"
    assert precision.resolve_precision("32-true", "cpu", flags={"amx_bf16"}) == "32-true"


@pytest.mark.slow
@pytest.mark.parametrize(("flags", "expected"), [({"avx512_bf16"}, "bf16-mixed"), (set(), "32-true")])
def test_a_training_run_with_precision_auto_records_what_it_chose(tmp_path, flags, expected):
    out = tmp_path / "run"
    # The subprocess reads this file instead of /proc/cpuinfo (SEQ2VEC_CPUINFO), so both answers are tested
    # on any machine.
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(extra=" ".join(sorted(flags))))
    proc = run_train(
        *tiny("avg_ch"), "trainer.precision=auto", f"hydra.run.dir={out}", env={"SEQ2VEC_CPUINFO": str(cpuinfo)}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["precision"] == expected
    assert results["status"] == "ok" and 0.0 <= results["test/acc"] <= 1.0


def test_explicit_bf16_is_refused_in_one_line_on_a_cpu_whose_onednn_has_no_bf16(monkeypatch):
    from omegaconf import OmegaConf

    from src.summarizers.base import ConfigError

    trainer = OmegaConf.create({"accelerator": "cpu", "precision": "bf16-mixed"})
    monkeypatch.setattr(precision, "onednn_has_bf16", lambda: False)
    with pytest.raises(ConfigError) as refused:
        precision.with_precision_plugin(trainer)
    message = str(refused.value)
    assert "\n" not in message and message.startswith("trainer.precision=bf16-mixed: this CPU (")
    assert "no bf16 in oneDNN" in message
    # where oneDNN has bf16 the same setting becomes the plugin; 32-true and auto are never refused
    monkeypatch.setattr(precision, "onednn_has_bf16", lambda: True)
    assert precision.with_precision_plugin(trainer).plugins[0]["_target_"].endswith("BF16MixedPrecision")
    monkeypatch.setattr(precision, "onednn_has_bf16", lambda: False)
    for value in ("32-true", "auto"):
        chosen = precision.with_precision_plugin(OmegaConf.create({"accelerator": "cpu", "precision": value}))
        assert chosen.get("precision") in ("32-true", "bf16-mixed", None)
