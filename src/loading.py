"""Load a trained model from a checkpoint, for inference (``src.eval``, ``src.predict``), with
one-line errors.

* :func:`load_checkpoint`: the checkpoint dict, or a :class:`CheckpointError` with one line naming
  the file and the problem (missing, unreadable, not a Lightning checkpoint).
* :func:`check_weights_fit`: the first parameter the checkpoint lacks, has extra or sizes
  differently, in one line (also used before resuming training, by ``src.checkpointing``).
* :func:`load_classifier` (:func:`tokenizer_from_checkpoint` + :func:`classifier_from_checkpoint`):
  the ``SentenceClassifier`` in eval mode and the tokenizer it was trained with.

Writing checkpoints and resuming training from them live in ``src.checkpointing``.
"""

from __future__ import annotations

from pathlib import Path

import torch

# Checkpoint key for run facts that are not model hyperparameters (seed, summarizer name, W&B run id).
RUN_KEY = "seq2vec_run"


class CheckpointError(ValueError):
    """A missing, unreadable or incompatible checkpoint, in one line naming the file."""


def load_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict (on CPU), or a one-line :class:`CheckpointError`."""
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file")
    try:
        checkpoint, problem = torch.load(path, map_location="cpu", weights_only=True), None
    except Exception as exc:  # noqa: BLE001  (any unreadable file gets the same one-line answer)
        checkpoint, problem = None, _first_line(exc)
    if problem is not None:  # raised outside `except`: the error is the root cause, not the torch one
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or not a torch file?): {problem}")
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"checkpoint {path} is not a Lightning checkpoint (no 'state_dict')")
    return checkpoint


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of the innermost cause (Hydra wraps instantiation errors)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}".rstrip(": ")


def check_weights_fit(model: torch.nn.Module, checkpoint: dict, path: str | Path) -> None:
    """One line naming the first parameter that the checkpoint lacks, has extra or sizes differently."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    stored = {k: tuple(v.shape) for k, v in checkpoint["state_dict"].items()}
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    resized = [k for k in expected if k in stored and expected[k] != stored[k]]
    if missing or extra or resized:
        if resized:
            k = resized[0]
            problem = f"{k} has shape {list(stored[k])} there but {list(expected[k])} here"
        elif missing:
            problem = f"it lacks {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        else:
            problem = f"it has unexpected {extra[0]}" + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        trained = checkpoint.get("hyper_parameters", {}).get("summarizer", {}).get("_target_", "?")
        raise CheckpointError(
            f"checkpoint {path} does not fit this model: {problem} (it was trained with "
            f"{trained}; use the same summarizer, sizes and data)"
        )


def tokenizer_from_checkpoint(checkpoint: dict, path: str | Path):
    """The word tokenizer the model was trained with (stored by ``SentenceClassifier``)."""
    from tokenizers import Tokenizer

    tokenizer_json = (checkpoint.get("seq2vec") or {}).get("tokenizer")
    if not tokenizer_json:
        raise CheckpointError(f"checkpoint {path} has no tokenizer: not written by src.train")
    try:
        return Tokenizer.from_str(tokenizer_json)
    except Exception as exc:  # noqa: BLE001
        problem = _first_line(exc)
    raise CheckpointError(f"checkpoint {path} has an unreadable tokenizer: {problem}")


def classifier_from_checkpoint(checkpoint: dict, path: str | Path, subset_names: list[str] | None = None):
    """The trained ``SentenceClassifier`` (eval mode, CPU), or a one-line :class:`CheckpointError`.

    ``subset_names`` replaces the slices the model reports test accuracy for (they carry no
    weights), so a model can be scored on data with other slices.
    """
    from src.model.module import SentenceClassifier

    hparams = dict(checkpoint.get("hyper_parameters") or {})
    if not hparams:
        raise CheckpointError(f"checkpoint {path} has no hyperparameters: not written by src.train")
    if subset_names is not None:
        hparams["subset_names"] = list(subset_names)
    try:
        model, problem = SentenceClassifier(**hparams), None
    except Exception as exc:  # noqa: BLE001
        model, problem = None, _first_line(exc)
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} cannot rebuild its model: {problem}")
    check_weights_fit(model, checkpoint, path)
    model.load_state_dict(checkpoint["state_dict"])
    model.tokenizer_json = (checkpoint.get("seq2vec") or {}).get("tokenizer")
    return model.eval()


def load_classifier(path: str | Path, subset_names: list[str] | None = None):
    """``(model in eval mode, tokenizer, checkpoint)`` from a checkpoint written by ``src.train``."""
    checkpoint = load_checkpoint(path)
    tokenizer = tokenizer_from_checkpoint(checkpoint, path)
    return classifier_from_checkpoint(checkpoint, path, subset_names), tokenizer, checkpoint
