"""LSTM recurrences that return the cell state c_t at *every* step, exactly.

``nn.LSTM`` returns h_t for all t but c only for the last step, and ``avg_ch`` needs every c_t.
Running ``nn.LSTMCell`` in a Python loop is exact but records ~10 autograd nodes per step and runs
about 3x slower than the fused kernel. Two exact alternatives live here:

* ``lstm_all_states`` (CPU): one autograd Function for the whole recurrence. The input projection
  of all steps is a single matmul outside it; inside, each step does one ``addmm`` and a few
  in-place elementwise ops, and backward is hand-written BPTT whose weight gradient is one matmul
  over all steps. Same FLOPs as ``nn.LSTM``.
* ``cell_states_from_hidden`` (any device, used on CUDA): takes h_t from the fused kernel
  (cuDNN), recomputes every gate for all steps in one batched matmul from (x_t, h_{t-1}), and gets
  c_t by a scan over the elementwise recurrence c_t = f_t * c_{t-1} + i_t * g_t. Because this is
  an identity in the weights, autograd through it gives the exact gradients.

Gate layout follows PyTorch: the 4H gate rows are (input, forget, cell, output).
"""
from __future__ import annotations

import torch
from torch import Tensor


class _LSTMRecurrence(torch.autograd.Function):
    """Inputs are time-major: projected inputs ``xw [T, B, 4H]`` (x_t W_ih^T + biases)."""

    @staticmethod
    def forward(ctx, xw: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor]:
        steps, batch, four_h = xw.shape
        hidden = four_h // 4
        acts = torch.empty_like(xw)  # post-activation gates i, f, g, o
        hs = xw.new_empty(steps, batch, hidden)
        cs = xw.new_empty(steps, batch, hidden)
        tanh_cs = xw.new_empty(steps, batch, hidden)
        w_hh_t = w_hh.t()
        h = xw.new_zeros(batch, hidden)
        c = xw.new_zeros(batch, hidden)
        two_h, three_h = 2 * hidden, 3 * hidden
        for t in range(steps):
            gates = torch.addmm(xw[t], h, w_hh_t)
            a = acts[t]
            torch.sigmoid(gates[:, :two_h], out=a[:, :two_h])
            torch.tanh(gates[:, two_h:three_h], out=a[:, two_h:three_h])
            torch.sigmoid(gates[:, three_h:], out=a[:, three_h:])
            c_t = cs[t]
            torch.mul(a[:, hidden:two_h], c, out=c_t)
            c_t.addcmul_(a[:, :hidden], a[:, two_h:three_h])
            torch.tanh(c_t, out=tanh_cs[t])
            torch.mul(a[:, three_h:], tanh_cs[t], out=hs[t])
            h, c = hs[t], c_t
        ctx.save_for_backward(w_hh, acts, hs, cs, tanh_cs)
        return hs, cs

    @staticmethod
    def backward(ctx, grad_hs: Tensor | None, grad_cs: Tensor | None):
        w_hh, acts, hs, cs, tanh_cs = ctx.saved_tensors
        steps, batch, hidden = hs.shape
        if grad_hs is None:
            grad_hs = torch.zeros_like(hs)
        if grad_cs is None:
            grad_cs = torch.zeros_like(cs)
        i, f, g, o = acts.chunk(4, dim=2)
        c_prev = torch.cat([cs.new_zeros(1, batch, hidden), cs[:-1]], dim=0)
        # Everything that does not depend on the backward recurrence, for all steps at once:
        # d(pre-gate)/dc for i, f, g and d(pre-gate)/dh for o, and dc/dh through h = o*tanh(c).
        factors = torch.cat(
            [g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g), tanh_cs * o * (1 - o)], dim=2
        )
        dc_dh = o * (1 - tanh_cs * tanh_cs)
        d_gates = torch.empty_like(acts)
        dh_next = hs.new_zeros(batch, hidden)
        dc_next = hs.new_zeros(batch, hidden)
        dc = hs.new_empty(batch, hidden)
        h2, h3 = 2 * hidden, 3 * hidden
        for t in range(steps - 1, -1, -1):
            dh = grad_hs[t] + dh_next
            torch.addcmul(grad_cs[t], dh, dc_dh[t], out=dc)
            dc.add_(dc_next)
            dg = d_gates[t]
            dg[:, :hidden].copy_(dc)
            dg[:, hidden:h2].copy_(dc)
            dg[:, h2:h3].copy_(dc)
            dg[:, h3:].copy_(dh)
            dg.mul_(factors[t])
            torch.mul(dc, f[t], out=dc_next)
            dh_next = dg @ w_hh
        grad_w_hh = None
        if ctx.needs_input_grad[1]:
            flat = d_gates[1:].reshape(-1, 4 * hidden)
            grad_w_hh = flat.t() @ hs[:-1].reshape(-1, hidden)
        return d_gates, grad_w_hh


def lstm_all_states(x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None):
    """One LSTM layer from zero state over batch-first ``x [B, T, E]``.

    Returns ``(h, c)``, each ``[B, T, H]``. Exact (same math as ``nn.LSTM``), differentiable.
    """
    bias = None
    if b_ih is not None:
        bias = b_ih + b_hh
    xw = torch.nn.functional.linear(x.transpose(0, 1), w_ih, bias)  # [T, B, 4H]
    hs, cs = _LSTMRecurrence.apply(xw.contiguous(), w_hh)
    return hs.transpose(0, 1), cs.transpose(0, 1)


def _linear_scan(decay: Tensor, drive: Tensor) -> Tensor:
    """c_t = decay_t * c_{t-1} + drive_t from c_{-1} = 0, along dim 1 of [B, T, H] tensors."""
    out = []
    c = torch.zeros_like(drive[:, 0])
    for t in range(drive.size(1)):
        c = torch.addcmul(drive[:, t], decay[:, t], c)
        out.append(c)
    return torch.stack(out, dim=1)


def cell_states_from_hidden(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor,
                            b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor:
    """Exact c_t for all t given the layer's input ``x [B, T, E]`` and its outputs ``h [B, T, H]``.

    Every gate of every step comes from one matmul over ``[x_t, h_{t-1}]``; only the cheap
    elementwise recurrence for c is sequential. Gradients flow into ``h`` (and so back through the
    fused kernel that produced it) and into the weights, which is exact because the expression is
    an identity in the weights.
    """
    hidden = h.size(-1)
    h_prev = torch.cat([h.new_zeros(h.size(0), 1, hidden), h[:, :-1]], dim=1)
    weight = torch.cat([w_ih, w_hh], dim=1)
    bias = None if b_ih is None else b_ih + b_hh
    gates = torch.nn.functional.linear(torch.cat([x, h_prev], dim=-1), weight, bias)
    i, f, g, _ = gates.chunk(4, dim=-1)
    return _linear_scan(torch.sigmoid(f), torch.sigmoid(i) * torch.tanh(g))


# A pre-activation this large saturates float32/bf16 sigmoids to exactly 1 or 0, with zero slope.
_SATURATE = 1.0e4


def lstm_last_cell_padded(x: Tensor, lengths: Tensor, w_ih: Tensor, w_hh: Tensor,
                          b_ih: Tensor | None, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """One LSTM layer over right-padded ``x [B, T, E]`` through the fused kernel, without packing.

    Returns ``(h [B, T, H], c_last [B, H])`` where ``c_last`` is c at each sequence's last real
    step. Packed sequences give the same on CPU but fall off oneDNN onto a path about 2x slower;
    instead one extra input column flags padding, with fixed weights that force the forget gate
    to exactly 1 and the input gate to exactly 0 there, so c passes through padding unchanged and,
    the sigmoid slope being exactly 0, no gradient flows from padding into the weights.
    h at padding steps is meaningless; callers take h at ``lengths - 1``.
    """
    batch, steps, _ = x.shape
    hidden = w_hh.size(1)
    is_pad = torch.arange(steps, device=x.device).unsqueeze(0) >= lengths.to(x.device).unsqueeze(1)
    x_aug = torch.cat([x, is_pad.unsqueeze(-1).to(x.dtype)], dim=-1)
    column = w_ih.new_zeros(4 * hidden, 1)
    column[:hidden] = -_SATURATE  # input gate -> 0
    column[hidden:2 * hidden] = _SATURATE  # forget gate -> 1
    weights = [torch.cat([w_ih, column], dim=1), w_hh]
    if b_ih is not None:
        weights += [b_ih, b_hh]
    zeros = x.new_zeros(1, batch, hidden)
    out, _, c_n = torch._VF.lstm(x_aug, (zeros, zeros), weights, b_ih is not None, 1, 0.0,
                                 torch.is_grad_enabled(), False, True)
    return out, c_n[0]
