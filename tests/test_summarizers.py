"""The summarizer contract, checked on values: shapes, padding invariance, exact LSTM states."""

from __future__ import annotations

import hydra
import pytest
import torch
from torch import nn

from src.summarizers import AvgCHSummarizer, ConfigError, LSTMSummarizer
from src.summarizers.registry import default_options
from tests.helpers import SUMMARIZERS

E, H = 7, 6


def build(name: str, train_config, **overrides) -> nn.Module:
    cfg = train_config(f"summarizer={name}", *(f"summarizer.{k}={v}" for k, v in overrides.items()))
    if "hidden_size" in cfg.summarizer:
        cfg.summarizer.hidden_size = H
    torch.manual_seed(0)
    return hydra.utils.instantiate(cfg.summarizer, input_dim=E).double()


def padded_batch(lengths: list[int], total_len: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), total_len, E, generator=g, dtype=torch.double)
    return x, torch.tensor(lengths)


@pytest.mark.parametrize("name", SUMMARIZERS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_output_dim_and_padding_invariance(name, num_layers, train_config):
    layered = "num_layers" in default_options(name)
    overrides = {"num_layers": num_layers, "dropout": 0.3} if layered else {}
    if not layered and num_layers == 2:
        pytest.skip(f"{name} has no layers")
    model = build(name, train_config, **overrides).eval()
    lengths = [5, 1, 9, 3]
    x, lengths_t = padded_batch(lengths, total_len=12)
    x[:, 9:] = 100.0 * torch.rand_like(x[:, 9:]) + 3.0  # loud, non-zero padding beyond every length
    for b, n in enumerate(lengths):
        x[b, n:] = 50.0 * torch.randn_like(x[b, n:]) - 7.0
    batched = model(x, lengths_t)
    assert batched.shape == (4, model.output_dim)
    for b, n in enumerate(lengths):
        alone = model(x[b : b + 1, :n], torch.tensor([n]))
        torch.testing.assert_close(batched[b : b + 1], alone, atol=1e-5, rtol=0)
    # and the output really depends on the real tokens
    x2 = x.clone()
    x2[2, 0] += 10.0
    assert not torch.allclose(model(x2, lengths_t)[2], batched[2])


def reference_lstm(weights: nn.LSTM, x: torch.Tensor):
    """nn.LSTMCell loop with the same weights: every h_t and c_t, [B, T, H] each."""
    cell = nn.LSTMCell(weights.input_size, weights.hidden_size).to(x.dtype)
    cell.weight_ih, cell.weight_hh = weights.weight_ih_l0, weights.weight_hh_l0
    cell.bias_ih, cell.bias_hh = weights.bias_ih_l0, weights.bias_hh_l0
    h = x.new_zeros(x.size(0), weights.hidden_size)
    c = torch.zeros_like(h)
    hs, cs = [], []
    for t in range(x.size(1)):
        h, c = cell(x[:, t], (h, c))
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, 1), torch.stack(cs, 1)


def _grads(module, loss):
    module.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("impl", ["fused", "recompute"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_avg_ch_matches_lstm_cell_reference(impl, dtype):
    torch.manual_seed(1)
    model = AvgCHSummarizer(E, H, impl=impl).to(dtype)
    lengths = torch.tensor([7, 2, 5, 1, 7])
    x = torch.randn(5, 7, E, dtype=dtype, requires_grad=True)
    h, c = model.all_states(x, lengths)
    h_ref, c_ref = reference_lstm(model.top, x)
    torch.testing.assert_close(h, h_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=1e-5, rtol=0)

    # The summary and its parameter gradients equal those of the reference, over real steps only.
    mask = (torch.arange(7)[None, :] < lengths[:, None]).unsqueeze(-1).to(dtype)
    weights = torch.randn(5, 2 * H, dtype=dtype)
    ours = (model(x, lengths) * weights).sum()
    ref_summary = (torch.cat([c_ref, h_ref], -1) * mask).sum(1) / lengths[:, None].to(dtype)
    ref = (ref_summary * weights).sum()
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    g_ours = _grads(model, ours)
    g_ref = _grads(model, ref)
    assert len(g_ours) == 4
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_avg_ch_fused_kernel_passes_gradcheck():
    torch.manual_seed(2)
    model = AvgCHSummarizer(3, 4, impl="fused").double()
    x = torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([5, 3])
    assert torch.autograd.gradcheck(lambda inp: model(inp, lengths), (x,))


@pytest.mark.parametrize("num_layers", [1, 2])
def test_avg_ch_impls_agree_when_stacked(num_layers):
    torch.manual_seed(3)
    fused = AvgCHSummarizer(E, H, num_layers=num_layers, impl="fused").double().eval()
    recompute = AvgCHSummarizer(E, H, num_layers=num_layers, impl="recompute").double().eval()
    recompute.load_state_dict(fused.state_dict())
    x, lengths = padded_batch([4, 6, 2], 6)
    torch.testing.assert_close(fused(x, lengths), recompute(x, lengths), atol=1e-10, rtol=0)


@pytest.mark.parametrize("state", ["c", "hc"])
def test_lstm_final_states_are_those_of_the_last_real_step(state):
    torch.manual_seed(4)
    model = LSTMSummarizer(E, H, state=state)
    lengths = torch.tensor([6, 1, 4, 6])
    x = torch.randn(4, 6, E, requires_grad=True)
    h_ref, c_ref = reference_lstm(model.top, x)
    last = lengths - 1
    h_last, c_last = h_ref[torch.arange(4), last], c_ref[torch.arange(4), last]
    h, c = model.final_states(x, lengths)
    torch.testing.assert_close(c, c_last, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_last, atol=1e-5, rtol=0)
    # Gradients equal the reference's: padding steps leak nothing into the weights.
    probe = torch.randn(4, model.output_dim)
    g_ours = _grads(model, (model(x, lengths) * probe).sum())
    expected = c_last if state == "c" else torch.cat([h_last, c_last], -1)
    g_ref = _grads(model, (expected * probe).sum())
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_bilstm_backward_direction_starts_at_last_real_token():
    from src.summarizers import BiLSTMSummarizer

    torch.manual_seed(5)
    model = BiLSTMSummarizer(E, H).double()
    x, lengths = padded_batch([3, 5], 5)
    out = model(x, lengths)
    # Backward direction by hand: run the backward LSTM over the reversed real tokens only.
    for b, n in enumerate(lengths.tolist()):
        rev = x[b : b + 1, :n].flip(1)
        _, (h_b, _) = model.backward_layers[0](rev)
        _, (h_f, _) = model.forward_layers[0](x[b : b + 1, :n])
        torch.testing.assert_close(out[b, H:], h_b[0, 0], atol=1e-10, rtol=0)
        torch.testing.assert_close(out[b, :H], h_f[0, 0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", [s for s in SUMMARIZERS if "hidden_size" in default_options(s)])
@pytest.mark.parametrize(
    "key,value,match",
    [
        ("hidden_size", 0, "hidden_size must be a positive integer"),
        ("hidden_size", -4, "hidden_size must be a positive integer"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\)"),
        ("dropout", -0.1, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_settings_fail_with_one_line(name, key, value, match, train_config):
    cfg = train_config(f"summarizer={name}", f"summarizer.{key}={value}")
    with pytest.raises(Exception) as info:
        hydra.utils.instantiate(cfg.summarizer, input_dim=E)
    cause = info.value
    while cause.__cause__ is not None:
        cause = cause.__cause__
    assert isinstance(cause, ConfigError)
    assert "\n" not in str(cause)
    import re

    assert re.search(match, str(cause))


@pytest.mark.parametrize("steps", [1, 2, 3, 5, 8, 17, 60])
def test_doubling_scan_equals_the_step_by_step_recurrence(steps):
    """The log2 T scan is what CUDA runs for avg_ch; here it is forced on CPU, where it can be
    checked against the plain loop c_t = f_t * c_{t-1} + d_t in values and gradients."""
    from src.summarizers.lstm_kernels import _linear_scan

    g = torch.Generator().manual_seed(steps)
    decay = torch.rand(3, steps, 4, generator=g, dtype=torch.double).requires_grad_()
    drive = torch.randn(3, steps, 4, generator=g, dtype=torch.double).requires_grad_()
    c, expected = torch.zeros(3, 4, dtype=torch.double), []
    for t in range(steps):
        c = decay[:, t] * c + drive[:, t]
        expected.append(c)
    expected = torch.stack(expected, 1)
    for doubling in (True, False):
        out = _linear_scan(decay, drive, doubling=doubling)
        torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
        weights = torch.randn(out.shape, generator=g, dtype=torch.double)
        got = torch.autograd.grad(
            (out * weights).sum(),
            (decay, drive),  # decay_0 meets c_{-1} = 0:
            allow_unused=True,
            materialize_grads=True,
        )  # its gradient is 0
        want = torch.autograd.grad((expected * weights).sum(), (decay, drive), retain_graph=True)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_avg_ch_recompute_with_the_doubling_scan_matches_the_fused_kernel(monkeypatch):
    import src.summarizers.lstm_kernels as kernels

    scan = kernels._linear_scan
    monkeypatch.setattr(kernels, "_linear_scan", lambda decay, drive: scan(decay, drive, doubling=True))
    torch.manual_seed(5)
    fused = AvgCHSummarizer(E, H, num_layers=2, impl="fused").double()
    recompute = AvgCHSummarizer(E, H, num_layers=2, impl="recompute").double()
    recompute.load_state_dict(fused.state_dict())
    x, lengths = padded_batch([9, 3, 6, 1], 9)
    out_f, out_r = fused(x, lengths), recompute(x, lengths)
    torch.testing.assert_close(out_r, out_f, atol=1e-10, rtol=0)
    grads_f = torch.autograd.grad(out_f.square().sum(), list(fused.parameters()))
    grads_r = torch.autograd.grad(out_r.square().sum(), list(recompute.parameters()))
    for a, b in zip(grads_r, grads_f):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
