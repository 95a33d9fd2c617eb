"""The reference summarizers of the literature, each against a plain loop or a hand computation on
single unpadded sequences, and the padding traps each of them can fall into."""

from __future__ import annotations

import hydra
import pytest
import torch
from torch import nn

from src.summarizers import (
    AttentionSummarizer,
    BiLSTMMaxSummarizer,
    CNNSummarizer,
    ConfigError,
    MaxSummarizer,
    SWEMConcatSummarizer,
    SWEMHierSummarizer,
)
from src.summarizers.base import masked_max
from src.summarizers.registry import default_options
from tests.helpers import SUMMARIZERS

E, H = 5, 4


def loud_batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded double batch whose padding is large and random, so any leak shows."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths) + 3, E, generator=g, dtype=torch.double)
    for b, n in enumerate(lengths):
        x[b, n:] = 1e3 * torch.rand(x[b, n:].shape, generator=g, dtype=torch.double) + 50.0
    return x, torch.tensor(lengths)


def each_alone(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor, reference) -> None:
    """The batched output equals ``reference(one sequence without padding)`` for every sequence."""
    out = model(x, lengths)
    assert out.shape == (x.size(0), model.output_dim)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(out[b], reference(x[b, :n]), atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", SUMMARIZERS)
def test_every_length_from_one_to_t_gives_the_output_of_the_sequence_alone(name, train_config):
    cfg = train_config(f"summarizer={name}")
    for key in ("hidden_size", "attention_size"):
        if key in default_options(name):
            cfg.summarizer[key] = H
    torch.manual_seed(0)
    model = hydra.utils.instantiate(cfg.summarizer, input_dim=E).double().eval()
    lengths = list(range(1, 10))
    x, lengths_t = loud_batch(lengths, seed=3)
    each_alone(model, x, lengths_t, lambda seq: model(seq[None], torch.tensor([len(seq)]))[0])


def test_max_pooling_masks_padding_with_the_lowest_value_not_zero():
    x = -1.0 - torch.rand(3, 6, E, dtype=torch.double)  # every real value negative
    x[:, 4:] = 0.0  # padding of zeros would win a zero-filled max
    lengths = torch.tensor([4, 1, 2])
    each_alone(MaxSummarizer(E), x, lengths, lambda seq: seq.max(0).values)
    assert (masked_max(x, lengths) < 0).all()
    half = torch.full((1, 3, E), -1e30, dtype=torch.float32)  # near the float32 limit, still found
    assert masked_max(half, torch.tensor([1])).eq(-1e30).all()


def test_swem_concat_is_mean_then_max():
    x, lengths = loud_batch([3, 1, 6])
    each_alone(SWEMConcatSummarizer(E), x, lengths, lambda seq: torch.cat([seq.mean(0), seq.max(0).values]))


@pytest.mark.parametrize("window", [1, 2, 3, 5])
def test_swem_hier_is_the_max_over_window_means(window):
    def reference(seq):
        n = min(window, len(seq))  # a sequence shorter than the window is one window
        means = [seq[j : j + n].mean(0) for j in range(len(seq) - n + 1)]
        return torch.stack(means).max(0).values

    x, lengths = loud_batch([1, 2, 3, 4, 7, 9])
    each_alone(SWEMHierSummarizer(E, window=window), x, lengths, reference)


def run_lstm(lstm: nn.LSTM, seq: torch.Tensor) -> torch.Tensor:
    out, _ = lstm(seq[None])
    return out[0]


def test_bilstm_max_is_the_max_over_both_directions_states():
    torch.manual_seed(1)
    model = BiLSTMMaxSummarizer(E, H).double()

    def reference(seq):
        forward = run_lstm(model.forward_layers[0], seq)
        backward = run_lstm(model.backward_layers[0], seq.flip(0)).flip(0)
        return torch.cat([forward, backward], dim=-1).max(0).values

    each_alone(model, *loud_batch([1, 4, 7]), reference)


@pytest.mark.parametrize("hops", [1, 3])
def test_attention_is_a_softmax_over_real_steps_of_an_mlp_score(hops):
    torch.manual_seed(2)
    model = AttentionSummarizer(E, H, attention_size=6, hops=hops).double()
    w1, w2 = model.score[0].weight, model.score[2].weight

    def reference(seq):
        states = torch.cat(
            [run_lstm(model.forward_layers[0], seq), run_lstm(model.backward_layers[0], seq.flip(0)).flip(0)], dim=-1
        )  # [n, 2H]
        weights = torch.softmax(w2 @ torch.tanh(w1 @ states.T), dim=-1)  # [hops, n]
        return (weights @ states).flatten()

    x, lengths = loud_batch([1, 3, 8])
    each_alone(model, x, lengths, reference)
    weights = model.weights(model.states(x, lengths), lengths)
    assert weights.shape == (3, hops, x.size(1))
    for b, n in enumerate(lengths.tolist()):
        assert weights[b, :, n:].eq(0).all()  # exactly zero on padding
        torch.testing.assert_close(weights[b].sum(-1), torch.ones(hops, dtype=torch.double), atol=1e-12, rtol=0)
    assert model.output_dim == 2 * H * hops


def test_cnn_is_a_wide_convolution_with_relu_and_max_over_time_by_hand():
    """Each sequence framed by w - 1 zero vectors per side, every window by an explicit sum, then
    max and ReLU; a sequence shorter than the widest filter (lengths 1 and 2) is covered too."""
    torch.manual_seed(3)
    model = CNNSummarizer(E, widths=[2, 4], maps=3).double()

    def reference(seq):
        pooled = []
        for conv, w in zip(model.convs, model.widths):
            framed = torch.cat([seq.new_zeros(w - 1, E), seq, seq.new_zeros(w - 1, E)])
            windows = [
                sum(conv.weight[:, :, k] @ framed[j + k] for k in range(w)) + conv.bias for j in range(len(seq) + w - 1)
            ]
            pooled.append(torch.stack(windows).max(0).values)
        return torch.relu(torch.cat(pooled))

    each_alone(model, *loud_batch([1, 2, 5, 6]), reference)
    assert model.output_dim == 6


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: SWEMHierSummarizer(E, window=0), "window must be a positive integer"),
        (lambda: CNNSummarizer(E, widths=[]), "widths must list at least one"),
        (lambda: CNNSummarizer(E, widths=[3, 0]), r"widths\[\] must be a positive integer"),
        (lambda: CNNSummarizer(E, maps=-1), "maps must be a positive integer"),
        (lambda: AttentionSummarizer(E, hops=0), "hops must be a positive integer"),
        (lambda: AttentionSummarizer(E, attention_size=2.5), "attention_size must be a positive integer"),
        (lambda: BiLSTMMaxSummarizer(E, hidden_size=0), "hidden_size must be a positive integer"),
        (lambda: MaxSummarizer(0), "input_dim must be a positive integer"),
    ],
)
def test_bad_reference_settings_are_one_line_config_errors(make, match):
    with pytest.raises(ConfigError, match=match) as info:
        make()
    assert "\n" not in str(info.value)
