"""Word importance for the predicted class: leave-one-out and integrated gradients.

Both work on a batch (right-padded ``input_ids [B, T]`` and ``lengths [B]``) and return ``[B, T]``
scores in units of the class probability, exactly 0 at padding, so a sentence gets the same scores
alone as inside a padded batch (the summarizers ignore padding by contract).

* **Leave-one-out**: ``p(class | sentence) - p(class | sentence with word t replaced by [UNK])``.
  Positive: the word supports the class. A one-word sentence compares the word with ``[UNK]`` alone.
* **Integrated gradients** (Sundararajan et al. 2017) on the word vectors, computed by Captum's
  ``IntegratedGradients``: the path from the all-zero vectors (the ``[PAD]`` vector, "no word") to
  the sentence's vectors, ``n_steps`` points of the Gauss-Legendre rule; a word's score is its
  attribution summed over the embedding dimensions. The scores add up to
  ``p(class | sentence) - p(class | zero vectors)`` (completeness); :func:`integrated_gradients`
  also returns how far from that they are, and :func:`adaptive_integrated_gradients` adds points
  until that error is small.
"""

from __future__ import annotations

import torch

from src.summarizers.base import padding_mask

__all__ = [
    "adaptive_integrated_gradients",
    "class_probabilities",
    "integrated_gradients",
    "leave_one_out",
    "zero_vector_probabilities",
]


def _probabilities_from_vectors(model, vectors: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Class probabilities from word vectors (the embedding layer skipped)."""
    return torch.softmax(model.head(model.summarizer(vectors, lengths)), dim=-1)


@torch.no_grad()
def class_probabilities(model, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[B, C] softmax of the model's logits (the model in eval mode)."""
    return torch.softmax(model(input_ids, lengths), dim=-1)


@torch.no_grad()
def zero_vector_probabilities(model, lengths: torch.Tensor) -> torch.Tensor:
    """[B, C] class probabilities for all-zero word vectors of the given lengths: where the
    integrated-gradients path starts. Its scores share out ``p(sentence) - p(zero vectors)``, so a
    model that already predicts the class with no words gets small scores."""
    dim = model.embedding.embedding_dim
    vectors = torch.zeros(len(lengths), int(lengths.max()), dim, device=lengths.device)
    return _probabilities_from_vectors(model, vectors, lengths)


def _unk_id(model) -> int:
    from src.data.tokenizer import UNK_ID

    unk = getattr(model.hparams, "unk_id", None)
    return UNK_ID if unk is None else int(unk)


@torch.no_grad()
def leave_one_out(
    model, input_ids: torch.Tensor, lengths: torch.Tensor, target: torch.Tensor, chunk: int = 512
) -> torch.Tensor:
    """[B, T]: drop in ``p(target)`` when each real word becomes [UNK] (0 at padding).

    Every (sentence, position) variant is one row of a batch with the sentence's own length, so
    padding stays padding; variants are scored ``chunk`` rows at a time."""
    batch, steps = input_ids.shape
    real = padding_mask(lengths, steps)
    base = class_probabilities(model, input_ids, lengths).gather(1, target.view(-1, 1))  # [B, 1]
    replace = torch.eye(steps, dtype=torch.bool, device=input_ids.device).unsqueeze(0) & real.unsqueeze(1)
    variants = input_ids.unsqueeze(1).expand(batch, steps, steps).masked_fill(replace, _unk_id(model))
    variants = variants.reshape(batch * steps, steps)
    variant_lengths = lengths.repeat_interleave(steps)
    variant_target = target.repeat_interleave(steps)
    dropped = torch.cat(
        [
            class_probabilities(model, variants[i : i + chunk], variant_lengths[i : i + chunk]).gather(
                1, variant_target[i : i + chunk].view(-1, 1)
            )
            for i in range(0, batch * steps, chunk)
        ]
    ).view(batch, steps)
    return (base - dropped).masked_fill(~real, 0.0)


def integrated_gradients(
    model,
    input_ids: torch.Tensor,
    lengths: torch.Tensor,
    target: torch.Tensor,
    n_steps: int = 50,
    internal_batch_size: int = 256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, T] integrated gradients of ``p(target)`` per word, [B] completeness error).

    The completeness error is ``sum of scores - (p(target | sentence) - p(target | zero vectors))``:
    near 0 when ``n_steps`` is enough."""
    from captum.attr import IntegratedGradients

    real = padding_mask(lengths, input_ids.size(1))
    with torch.no_grad():
        vectors = model.embedding(input_ids)
    # The baseline is the zero vector at every real step and the input itself at padding, so
    # padding has exactly zero attribution whatever its vector.
    baseline = vectors.masked_fill(real.unsqueeze(-1), 0.0)

    def forward(x: torch.Tensor, step_lengths: torch.Tensor) -> torch.Tensor:
        return _probabilities_from_vectors(model, x, step_lengths)

    with torch.enable_grad():
        attributions, delta = IntegratedGradients(forward).attribute(
            vectors,
            baselines=baseline,
            target=target,
            additional_forward_args=(lengths,),
            n_steps=n_steps,
            internal_batch_size=max(internal_batch_size, input_ids.size(0)),
            return_convergence_delta=True,
        )
    scores = attributions.sum(dim=-1).masked_fill(~real, 0.0).detach()
    return scores, delta.detach()


def adaptive_integrated_gradients(
    model,
    input_ids: torch.Tensor,
    lengths: torch.Tensor,
    target: torch.Tensor,
    n_steps: int = 50,
    tolerance: float = 0.01,
    max_steps: int = 3200,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """:func:`integrated_gradients` with ``n_steps`` doubled until every completeness error is within
    ``tolerance`` (or ``max_steps`` is reached): a confident model's probability can jump from 0 to 1
    within a few percent of the path, which 50 points miss. Returns (scores, errors, steps used).
    Call it per sentence: the steps depend on the worst sentence of the batch."""
    while True:
        scores, delta = integrated_gradients(model, input_ids, lengths, target, n_steps)
        if float(delta.abs().max()) <= tolerance or n_steps * 2 > max_steps:
            return scores, delta, n_steps
        n_steps *= 2
