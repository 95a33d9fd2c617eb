"""What each summarizer does at every step of a sentence, for the state panels of ``src.inspect``.

:func:`read_states` maps a batch to one :class:`Readout` per sentence: a few panels of per-step
series, or a note saying why there is nothing to draw. By summarizer:

* ``lstm_h``, ``lstm_c``, ``lstm_hc``, ``avg_ch`` (the top LSTM layer) and ``bilstm`` (the top
  layer's forward and backward directions): the forget and input gates averaged over the hidden
  units, and the norms of c_t and h_t. ``nn.LSTM`` returns neither gates nor every c_t, so they are
  **recomputed** from the layer's weights by the textbook recurrence (PyTorch's gate order i, f, g, o)::

      i, f, g, o = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi), sigmoid(...), tanh(...), sigmoid(...)
      c_t = f * c_{t-1} + i * g          h_t = o * tanh(c_t)

  starting from zeros, on the top layer's input (``_TopLayerLSTM.top_input``: the lower layers'
  output, in eval mode; for ``bilstm``, the lower layers rerun as ``BiLSTMSummarizer.states`` runs
  them). The recurrence is causal, so padding never reaches a real step; the tests check that the
  recomputed h_T, c_T and mean of [c_t, h_t] equal the summarizers' own outputs.
* ``avg_ch``, also each step's **share of the summary** s = mean_t [c_t, h_t]: the projection of
  its term [c_t, h_t] / L on s, as a fraction of |s|^2. The shares sum to 1; a negative share pulls
  the summary the other way.
* ``rnn``: the norm of h_t (a vanilla tanh RNN has no gates and no cell).
* ``attention``: the attention weights of each hop (``AttentionSummarizer.weights``).
* max pooling (``max``, ``swem_concat``, ``swem_hier``, ``bilstm_max``, ``cnn``): which step each
  dimension's maximum came from (``masked_argmax``), as the share of the max-pooled dimensions per
  step. A ``swem_hier`` window or ``cnn`` filter window spreads its one dimension evenly over the real
  words it covers; ``cnn`` counts only filters whose maximum is positive (ReLU zeroes the others).
* ``mean``: a note (a bag of words has no state over time: every word weighs 1/L).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from src.summarizers import (
    AttentionSummarizer,
    AvgCHSummarizer,
    BiLSTMMaxSummarizer,
    BiLSTMSummarizer,
    CNNSummarizer,
    LSTMSummarizer,
    MaxSummarizer,
    MeanSummarizer,
    RNNSummarizer,
    SWEMConcatSummarizer,
    SWEMHierSummarizer,
)
from src.summarizers.base import masked_argmax, masked_max
from src.summarizers.recurrent import reverse_within_length

__all__ = ["Panel", "Readout", "Series", "lstm_recurrence", "read_states"]


@dataclass
class Series:
    label: str
    values: np.ndarray  # [L]: one value per real step
    style: str = "-"  # matplotlib line style; "bar" for bars
    color: str | None = None


@dataclass
class Panel:
    title: str
    series: list[Series]
    ylim: tuple[float, float] | None = None


@dataclass
class Readout:
    """One sentence's state panels, or ``note`` saying why it has none."""

    panels: list[Panel] = field(default_factory=list)
    note: str = ""


GATE_COLORS = {"forget": "#1f77b4", "input": "#d62728"}
NORM_COLORS = {"c": "#2ca02c", "h": "#9467bd"}


def lstm_recurrence(
    x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor | None, b_hh: torch.Tensor | None
) -> dict[str, torch.Tensor]:
    """The plain LSTM recurrence over every step of ``x [B, T, E]`` from zero states: the gates
    ``i``, ``f`` (each in [0, 1]), ``c`` and ``h``, each [B, T, H]."""
    batch, steps, _ = x.shape
    hidden = w_hh.shape[1]
    pre = x @ w_ih.T
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    h = x.new_zeros(batch, hidden)
    c = x.new_zeros(batch, hidden)
    out = {k: [] for k in ("i", "f", "c", "h")}
    for t in range(steps):
        i, f, g, o = (pre[:, t] + h @ w_hh.T).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for key, value in (("i", i), ("f", f), ("c", c), ("h", h)):
            out[key].append(value)
    return {k: torch.stack(v, dim=1) for k, v in out.items()}


def _lstm_weights(lstm: torch.nn.LSTM):
    return lstm.weight_ih_l0, lstm.weight_hh_l0, getattr(lstm, "bias_ih_l0", None), getattr(lstm, "bias_hh_l0", None)


def _bilstm_top(summarizer: BiLSTMSummarizer, x: torch.Tensor, lengths: torch.Tensor):
    """Recurrences of the top layer's forward and backward LSTMs, each at the original positions."""
    last = len(summarizer.forward_layers) - 1
    for depth, (fwd, bwd) in enumerate(zip(summarizer.forward_layers, summarizer.backward_layers)):
        if depth:
            x = summarizer.between(x)
        if depth == last:
            break
        out_f, _ = fwd(x)
        out_b, _ = bwd(reverse_within_length(x, lengths))
        x = torch.cat([out_f, reverse_within_length(out_b, lengths)], dim=-1)
    forward = lstm_recurrence(x, *_lstm_weights(summarizer.forward_layers[-1]))
    backward = lstm_recurrence(reverse_within_length(x, lengths), *_lstm_weights(summarizer.backward_layers[-1]))
    return forward, {k: reverse_within_length(v, lengths) for k, v in backward.items()}


def _gate_panels(runs: list[tuple[str, str, dict[str, torch.Tensor]]], b: int, n: int) -> list[Panel]:
    """Gate and norm panels for sentence ``b`` (length ``n``); ``runs`` is (label suffix, style, recurrence)."""
    gates, norms = [], []
    for suffix, style, rec in runs:
        gates += [
            Series(f"forget f{suffix}", rec["f"][b, :n].mean(-1).numpy(), style, GATE_COLORS["forget"]),
            Series(f"input i{suffix}", rec["i"][b, :n].mean(-1).numpy(), style, GATE_COLORS["input"]),
        ]
        norms += [
            Series(f"|c_t|{suffix}", rec["c"][b, :n].norm(dim=-1).numpy(), style, NORM_COLORS["c"]),
            Series(f"|h_t|{suffix}", rec["h"][b, :n].norm(dim=-1).numpy(), style, NORM_COLORS["h"]),
        ]
    return [Panel("gates (mean over units)", gates, (-0.02, 1.02)), Panel("state norms", norms)]


def _spread(starts: torch.Tensor, ends: torch.Tensor, n: int) -> np.ndarray:
    """Share of max-pooled dimensions per step: dimension k's maximum came from the window of steps
    ``starts[k] .. ends[k]`` (inclusive, clipped to the ``n`` real steps), spread evenly over it."""
    share = np.zeros(n)
    for s, e in zip(starts.tolist(), ends.tolist()):
        s, e = max(s, 0), min(e, n - 1)
        if e >= s:
            share[s : e + 1] += 1.0 / (e - s + 1)
    return share / max(share.sum(), 1e-12)


def _argmax_panel(title: str, share: np.ndarray) -> Panel:
    return Panel(title, [Series("share of max-pooled dims", share, "bar", "#7f7f7f")], (0.0, None))


@torch.no_grad()
def read_states(model, input_ids: torch.Tensor, lengths: torch.Tensor) -> list[Readout]:
    """One :class:`Readout` per sentence of the batch (the model in eval mode)."""
    summarizer = model.summarizer
    x = model.embedding(input_ids)
    n_of = lengths.tolist()
    name = type(summarizer).__name__

    if isinstance(summarizer, (LSTMSummarizer, AvgCHSummarizer)):
        rec = lstm_recurrence(summarizer.top_input(x), *summarizer.top_weights())
        out = []
        for b, n in enumerate(n_of):
            panels = _gate_panels([("", "-", rec)], b, n)
            if isinstance(summarizer, AvgCHSummarizer):
                terms = torch.cat([rec["c"][b, :n], rec["h"][b, :n]], dim=-1) / n  # [n, 2H]
                summary = terms.sum(0)
                share = (terms @ summary / summary.dot(summary).clamp(min=1e-12)).numpy()
                panels.append(
                    Panel("share of the summary", [Series("share of mean [c_t, h_t]", share, "bar", "#ff7f0e")])
                )
            out.append(Readout(panels))
        return out
    if isinstance(summarizer, AttentionSummarizer):
        weights = summarizer.weights(summarizer.states(x, lengths), lengths)  # [B, hops, T]
        return [
            Readout(
                [
                    Panel(
                        "attention weights",
                        [
                            Series(
                                f"hop {k + 1}" if weights.size(1) > 1 else "weight", weights[b, k, :n].numpy(), "bar"
                            )
                            for k in range(weights.size(1))
                        ],
                        (0.0, None),
                    )
                ]
            )
            for b, n in enumerate(n_of)
        ]
    if isinstance(summarizer, BiLSTMMaxSummarizer):
        index = masked_argmax(summarizer.states(x, lengths), lengths)  # [B, 2H]
        return [
            Readout([_argmax_panel("where each max came from", _spread(index[b], index[b], n))])
            for b, n in enumerate(n_of)
        ]
    if isinstance(summarizer, BiLSTMSummarizer):
        forward, backward = _bilstm_top(summarizer, x, lengths)
        return [
            Readout(_gate_panels([(" (fwd)", "-", forward), (" (bwd)", "--", backward)], b, n))
            for b, n in enumerate(n_of)
        ]
    if isinstance(summarizer, RNNSummarizer):
        out, _ = summarizer.rnn(x)
        return [
            Readout(
                [Panel("state norm", [Series("|h_t|", out[b, :n].norm(dim=-1).numpy(), "-", NORM_COLORS["h"])])],
                note="a vanilla RNN has no gates and no cell state: only |h_t| is drawn",
            )
            for b, n in enumerate(n_of)
        ]
    if isinstance(summarizer, (MaxSummarizer, SWEMConcatSummarizer)):
        index = masked_argmax(x, lengths)  # [B, E]
        return [
            Readout([_argmax_panel("where each max came from", _spread(index[b], index[b], n))])
            for b, n in enumerate(n_of)
        ]
    if isinstance(summarizer, SWEMHierSummarizer):
        means, windows = summarizer.window_means(x, lengths)
        index = masked_argmax(means, windows)  # window j covers j .. j + min(window, n) - 1
        return [
            Readout(
                [
                    _argmax_panel(
                        "where each max came from (window spread over its words)",
                        _spread(index[b], index[b] + min(summarizer.window, n) - 1, n),
                    )
                ]
            )
            for b, n in enumerate(n_of)
        ]
    if isinstance(summarizer, CNNSummarizer):
        maps = summarizer.feature_maps(x, lengths)
        out = []
        for b, n in enumerate(n_of):
            starts, ends = [], []
            for m, w in zip(maps, summarizer.widths):
                windows = lengths[b : b + 1] + w - 1
                index, best = masked_argmax(m[b : b + 1], windows)[0], masked_max(m[b : b + 1], windows)[0]
                kept = index[best > 0]  # window j covers steps j - w + 1 .. j
                starts.append(kept - w + 1)
                ends.append(kept)
            starts, ends = torch.cat(starts), torch.cat(ends)
            if len(starts) == 0:
                out.append(Readout(note="cnn: no filter has a positive maximum on this sentence (the summary is 0)"))
            else:
                out.append(
                    Readout(
                        [
                            _argmax_panel(
                                "where each max came from (filters > 0, window spread)", _spread(starts, ends, n)
                            )
                        ]
                    )
                )
        return out
    if isinstance(summarizer, MeanSummarizer):
        note = "mean has no state over time: every word enters the summary with weight 1/L, wherever it stands"
    else:
        note = f"{name}: no state view for this summarizer"
    return [Readout(note=note) for _ in n_of]
