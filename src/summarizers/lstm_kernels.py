"""LSTM recurrences that return the cell state c_t at *every* step, exactly.

``nn.LSTM`` returns h_t for all t but c only for the last step, and ``avg_ch`` needs every c_t.
Running ``nn.LSTMCell`` in a Python loop is exact but records ~10 autograd nodes per step and runs
about 3x slower than the fused kernel. Two exact alternatives live here:

* ``lstm_all_states`` (CPU): one autograd Function for the whole layer. The input projection of
  all steps is one matmul; each step does one ``addmm`` and a few elementwise ops (sigmoids only:
  see ``_LSTMLayer``), and backward is hand-written BPTT whose weight gradients are one matmul
  each over all steps. Same FLOPs as ``nn.LSTM``; docs/performance.md has the measurements.
* ``cell_states_from_hidden`` (any device, used on CUDA): takes h_t from the fused kernel
  (cuDNN), recomputes the gates of all steps in one batched matmul from (x_t, h_{t-1}), and gets
  c_t by a scan over the elementwise recurrence c_t = f_t * c_{t-1} + i_t * g_t. Because this is
  an identity in the weights, autograd through it gives the exact gradients.

Gate layout follows PyTorch: the 4H gate rows are (input, forget, cell, output).
"""

from __future__ import annotations

import torch
from torch import Tensor


class _LSTMLayer(torch.autograd.Function):
    """One LSTM layer, all steps, from zero state: forward and BPTT written out by hand.

    Takes time-major ``x [T, B, E]`` and the layer's weights with the cell-candidate (g) rows
    doubled (``_double_g_rows``); returns ``(h, c)``, each ``[T, B, H]``. Why the doubling: on CPU
    ``tanh`` costs about 4x ``sigmoid`` per element, and the per-step elementwise work, not the
    matmul, is what separates a Python-level loop from the fused kernel. With doubled g rows one
    in-place sigmoid covers all four gates (tanh z = 2 sigmoid(2z) - 1); the state is kept as 2c so
    that tanh c_t = 2 sigmoid(2c_t) - 1 is one more sigmoid; and the loop carries -h_t
    (= o - 2 o sigmoid(2c), one addcmul) into the next matmul with alpha=-1. Per step: forward one
    addmm + 6 elementwise ops, backward one addmm + 4. Everything that does not depend on the
    recurrence is done for all steps at once outside the loops, the input projection and the
    weight gradients as one matmul each (in the operand order that MKL runs fastest here).
    """

    @staticmethod
    def forward(
        ctx, x: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor | None, low: torch.dtype | None = None
    ) -> tuple[Tensor, Tensor]:
        steps, batch, _ = x.shape
        hidden = w_hh.size(1)
        h2, h3 = 2 * hidden, 3 * hidden
        # With a bias, x gets a column of ones and w_ih the bias as its last column, so that the
        # bias gradient comes out of the weight-gradient matmul instead of another pass over it.
        features = x.size(2) + (bias is not None)
        x_flat = x.new_empty(steps * batch, features)
        x_flat.view(steps, batch, features)[:, :, : x.size(2)].copy_(x)
        if bias is not None:
            x_flat[:, -1] = 1.0
            w_ih = torch.cat([w_ih, bias.unsqueeze(1)], dim=1)
        xw = _mm(x_flat, w_ih.t(), low).view(steps, batch, 4 * hidden)
        acts = xw  # overwritten in place, step by step: sigmoid of every pre-activation (i, f, s, o)
        c2 = x.new_empty(steps, batch, hidden)  # 2 c_t
        sig_c = x.new_empty(steps, batch, hidden)  # sigmoid(2 c_t) = (tanh c_t + 1) / 2
        neg_h = x.new_empty(steps, batch, hidden)  # -h_t
        w_hh_t = w_hh.t()
        for t in range(steps):
            a = acts[t]
            if t:
                a.addmm_(neg_h[t - 1], w_hh_t, alpha=-1.0)
            a.sigmoid_()
            i, s, o = a[:, :hidden], a[:, h2:h3], a[:, h3:]
            c = c2[t]
            if t:  # 2c_t = f 2c_{t-1} + 2 i g = f 2c_{t-1} + 4 i s - 2 i, with s = sigmoid(2 z_g)
                torch.mul(a[:, hidden:h2], c2[t - 1], out=c)
                c.addcmul_(i, s, value=4.0)
            else:
                torch.mul(i, s, out=c).mul_(4.0)
            c.sub_(i, alpha=2.0)
            torch.sigmoid(c, out=sig_c[t])
            torch.addcmul(o, o, sig_c[t], value=-2.0, out=neg_h[t])  # -h = o - 2 o sigmoid(2c)
        ctx.has_bias, ctx.low = bias is not None, low
        ctx.save_for_backward(x_flat, w_ih, w_hh, acts, c2, sig_c, neg_h)
        return torch.neg(neg_h), c2.mul(0.5)

    @staticmethod
    def backward(ctx, grad_hs: Tensor | None, grad_cs: Tensor | None):
        x_flat, w_ih, w_hh, acts, c2, sig_c, neg_h = ctx.saved_tensors
        steps, batch, hidden = c2.shape
        # Incoming gradients may be strided (they come through a transpose); steps read them as is.
        grad_hs = torch.zeros_like(c2) if grad_hs is None else grad_hs
        grad_cs = torch.zeros_like(c2) if grad_cs is None else grad_cs
        gates = acts.view(steps, batch, 4, hidden)
        i, f, s, o = gates.unbind(2)
        zero, one, two = c2.new_tensor(0.0), c2.new_tensor(1.0), c2.new_tensor(2.0)
        tanh_c = torch.addcmul(-one, sig_c, two)  # 2 sigmoid(2c) - 1
        # For all steps at once: d(pre-activation)/dc for i, f, g, d(pre-activation)/dh for o,
        # and dc/dh through h = o tanh(c). (addcmul(zero, a, b, value=k) is k*a*b in one pass.)
        factors = torch.addcmul(acts, acts, acts, value=-1.0)  # sigmoid' = a (1 - a)
        gate_i, gate_f, gate_g, gate_o = factors.view(steps, batch, 4, hidden).unbind(2)
        gate_i.mul_(torch.addcmul(-one, s, two))  # * g, with g = 2s - 1
        gate_f[0].zero_()  # * c_{t-1}, with c_{-1} = 0 and c_{t-1} = (2c_{t-1}) / 2
        torch.addcmul(zero, gate_f[1:], c2[:-1], value=0.5, out=gate_f[1:])
        torch.addcmul(zero, gate_g, i, value=2.0, out=gate_g)  # * i; the 2: g = 2 sigmoid(2 z_g) - 1
        gate_o.mul_(tanh_c)
        per_gate = factors.view(steps, batch, 4, hidden)
        dc_dh = torch.addcmul(one, tanh_c, tanh_c, value=-1.0).mul_(o)  # o (1 - tanh^2 c)
        d_pre = torch.empty_like(acts)
        d_pre_gates = d_pre.view(steps, batch, 4, hidden)
        dh_buf = c2.new_empty(batch, hidden)
        dc, dc_next = c2.new_empty(batch, hidden), c2.new_empty(batch, hidden)
        for t in range(steps - 1, -1, -1):
            if t < steps - 1:
                dh = torch.addmm(grad_hs[t], d_pre[t + 1], w_hh, out=dh_buf)
                torch.addcmul(grad_cs[t], dh, dc_dh[t], out=dc)
                dc.addcmul_(dc_next, f[t + 1])
            else:
                dh = grad_hs[t]
                torch.addcmul(grad_cs[t], dh, dc_dh[t], out=dc)
            torch.mul(dc.unsqueeze(1), per_gate[t, :, :3], out=d_pre_gates[t, :, :3])
            torch.mul(dh, per_gate[t, :, 3], out=d_pre_gates[t, :, 3])
            dc, dc_next = dc_next, dc
        d_flat = d_pre.view(steps * batch, 4 * hidden)
        grad_x = grad_w_ih = grad_w_hh = grad_bias = None
        features = w_ih.size(1) - ctx.has_bias
        if ctx.needs_input_grad[0]:
            grad_x = _mm(d_flat, w_ih[:, :features], ctx.low).view(steps, batch, features)
        if ctx.needs_input_grad[1] or (ctx.has_bias and ctx.needs_input_grad[3]):
            grad_w_ih = _mm(x_flat.t(), d_flat, ctx.low).t()
            if ctx.has_bias:
                grad_bias, grad_w_ih = grad_w_ih[:, -1], grad_w_ih[:, :-1]
            if not ctx.needs_input_grad[1]:
                grad_w_ih = None
        if ctx.needs_input_grad[2]:
            grad_w_hh = torch.zeros_like(w_hh)
            if steps > 1:  # h_{t-1} = -neg_h[t-1]
                h_prev, d_next = neg_h[:-1].reshape(-1, hidden), d_pre[1:].reshape(-1, 4 * hidden)
                grad_w_hh = _mm(h_prev.t(), d_next, ctx.low).t().neg()
        return grad_x, grad_w_ih, grad_w_hh, grad_bias, None


def _mm(a: Tensor, b: Tensor, low: torch.dtype | None) -> Tensor:
    """``a @ b`` in float32, or with both operands rounded to ``low`` (bf16 under autocast) and the
    product (accumulated in float32 by oneDNN) returned as float32: what autocast does to a matmul,
    applied to the layer's four big products only; the per-step products and every state stay float32."""
    if low is None:
        return torch.mm(a, b)
    return torch.mm(a.to(low), b.to(low)).float()


def _double_g_rows(weight: Tensor) -> Tensor:
    """The weight (or bias) with its cell-candidate rows times 2 (exact: a power of two)."""
    hidden = weight.size(0) // 4
    scale = weight.new_ones(4, *([1] * weight.dim()))
    scale[2] = 2.0
    return (weight.view(4, hidden, *weight.shape[1:]) * scale).view_as(weight)


def lstm_all_states(x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None):
    """One LSTM layer from zero state over batch-first ``x [B, T, E]``.

    Returns ``(h, c)``, each ``[B, T, H]``, float32. Exact (same math as ``nn.LSTM``), differentiable.
    Under autocast the input projection and the three gradient products over all steps run in the
    autocast dtype (most of the FLOPs; ~2x faster on a CPU with native bf16), while the recurrence,
    its per-step products and every state stay float32, since they accumulate.
    """
    device_type = x.device.type
    if not torch.is_autocast_enabled(device_type):
        return _all_states(x, w_ih, w_hh, b_ih, b_hh, None)
    low = torch.get_autocast_dtype(device_type)
    with torch.autocast(device_type=device_type, enabled=False):
        return _all_states(x.float(), w_ih.float(), w_hh.float(), b_ih, b_hh, low)


def _all_states(x, w_ih, w_hh, b_ih, b_hh, low: torch.dtype | None):
    bias = None if b_ih is None else _double_g_rows(b_ih.to(w_ih.dtype) + b_hh.to(w_ih.dtype))
    hs, cs = _LSTMLayer.apply(x.transpose(0, 1), _double_g_rows(w_ih), _double_g_rows(w_hh), bias, low)
    return hs.transpose(0, 1), cs.transpose(0, 1)


def _linear_scan(decay: Tensor, drive: Tensor, doubling: bool | None = None) -> Tensor:
    """c_t = decay_t * c_{t-1} + drive_t from c_{-1} = 0, along dim 1 of [B, T, H] tensors.

    ``doubling`` (default: on CUDA) scans in ceil(log2 T) rounds, each composing every step's
    affine map with the one ``shift`` steps back (Hillis-Steele): a few dozen kernel launches
    however long T is. Otherwise step by step, which does the least arithmetic.
    """
    steps = drive.size(1)
    if not (drive.is_cuda if doubling is None else doubling):
        out = []
        c = torch.zeros_like(drive[:, 0])
        for t in range(steps):
            c = torch.addcmul(drive[:, t], decay[:, t], c)
            out.append(c)
        return torch.stack(out, dim=1)
    shift = 1
    while shift < steps:  # step t now holds the composition of steps t - 2*shift + 1 .. t
        drive = torch.cat([drive[:, :shift], torch.addcmul(drive[:, shift:], decay[:, shift:], drive[:, :-shift])], 1)
        if 2 * shift < steps:
            decay = torch.cat([decay[:, :shift], decay[:, shift:] * decay[:, :-shift]], 1)
        shift *= 2
    return drive


def cell_states_from_hidden(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None
) -> Tensor:
    """Exact c_t for all t given the layer's input ``x [B, T, E]`` and its outputs ``h [B, T, H]``.

    The input, forget and cell gates of every step come from one matmul over ``[x_t, h_{t-1}]``
    (the output gate is not needed); only the cheap elementwise recurrence for c is sequential.
    Gradients flow into ``h`` (and so back through the fused kernel that produced it) and into the
    weights, which is exact because the expression is an identity in the weights. Under autocast
    the matmul runs in the low precision and the gates and the scan in float32.
    """
    hidden = h.size(-1)
    h_prev = torch.cat([h.new_zeros(h.size(0), 1, hidden), h[:, :-1]], dim=1)
    weight = torch.cat([w_ih[: 3 * hidden], w_hh[: 3 * hidden]], dim=1)
    bias = None if b_ih is None else (b_ih + b_hh)[: 3 * hidden]
    inputs = torch.cat([x, h_prev.to(x.dtype)], dim=-1)
    gates = torch.nn.functional.linear(inputs, weight, bias)
    gates = gates.to(torch.promote_types(gates.dtype, torch.float32))  # bf16/fp16 -> float32
    i, f, g = gates.chunk(3, dim=-1)
    return _linear_scan(torch.sigmoid(f), torch.sigmoid(i) * torch.tanh(g))


# A pre-activation this large saturates float32/bf16 sigmoids to exactly 1 or 0, with zero slope.
_SATURATE = 1.0e4


def lstm_last_cell_padded(
    x: Tensor, lengths: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
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
    column[hidden : 2 * hidden] = _SATURATE  # forget gate -> 1
    weights = [torch.cat([w_ih, column], dim=1), w_hh]
    if b_ih is not None:
        weights += [b_ih, b_hh]
    zeros = x.new_zeros(1, batch, hidden)
    out, _, c_n = torch._VF.lstm(
        x_aug, (zeros, zeros), weights, b_ih is not None, 1, 0.0, torch.is_grad_enabled(), False, True
    )
    return out, c_n[0]
