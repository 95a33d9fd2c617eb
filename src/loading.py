"""Load a trained model from a checkpoint, for inference (``src.eval``, ``src.predict``), with
one-line errors.

* :func:`load_checkpoint`: the checkpoint dict, or a :class:`CheckpointError` with one line naming
  the file and the problem (missing, unreadable, not a Lightning checkpoint, carrying pickled
  Python objects). Checkpoints are read with ``torch.load(weights_only=True)``: tensors and plain
  data only, so a crafted file cannot run code while it is read.
* :func:`check_weights_fit`: the first parameter the checkpoint lacks, has extra or sizes
  differently, in one line (also used before resuming training, by ``src.checkpointing``).
* :func:`load_classifier` (:func:`tokenizer_from_checkpoint` + :func:`classifier_from_checkpoint`):
  the ``SentenceClassifier`` in eval mode and the tokenizer it was trained with. The model is
  rebuilt from the checkpoint's hyperparameters only after :func:`check_hyperparameters` has
  checked that they name a summarizer of this project and hold no other ``_target_`` (Hydra would
  call whatever a ``_target_`` names); the tokenizer JSON and label names are parsed as data.

Writing checkpoints and resuming training from them live in ``src.checkpointing``.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from src.utils.errors import CheckpointError
from src.utils.instantiate import root_cause

__all__ = [
    "RUN_KEY",
    "CheckpointError",
    "check_hyperparameters",
    "check_weights_fit",
    "classifier_from_checkpoint",
    "load_checkpoint",
    "load_classifier",
    "tokenizer_from_checkpoint",
]

# Checkpoint key for run facts that are not model hyperparameters (seed, summarizer name, W&B run id).
RUN_KEY = "seq2vec_run"


def load_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict (on CPU), or a one-line :class:`CheckpointError`."""
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file")
    try:
        checkpoint, problem = torch.load(path, map_location="cpu", weights_only=True), None
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():  # not a pickle of ours at all (a text file, random bytes)
            raise CheckpointError(
                f"checkpoint {path} is unreadable (truncated or not a torch file?): {_first_line(exc)}"
            ) from None
        # weights_only refused a Python object: nothing of it ran
        found = re.search(r"GLOBAL (\S+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise CheckpointError(
            f"checkpoint {path} holds Python objects{what}, not only tensors and plain data; "
            "refused, since loading it could run code (use checkpoints written by src.train)"
        ) from None
    except Exception as exc:  # noqa: BLE001  (any unreadable file gets the same one-line answer)
        checkpoint, problem = None, _first_line(exc)
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or not a torch file?): {problem}")
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"checkpoint {path} is not a Lightning checkpoint (no 'state_dict')")
    return checkpoint


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of the innermost cause (Hydra wraps instantiation errors)."""
    exc = root_cause(exc)
    text = str(exc).strip()
    first = text.splitlines()[0].split(". ")[0][:200] if text else ""  # torch adds sentences of advice
    return f"{type(exc).__name__}: {first}".rstrip(": ")


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


def check_hyperparameters(hparams: dict, path: str | Path) -> None:
    """Refuse hyperparameters that would make rebuilding the model call code the checkpoint names.

    ``SentenceClassifier`` builds ``hparams["summarizer"]`` with Hydra, which calls (and imports)
    whatever its ``_target_`` names, and would do the same for any nested ``_target_``. A
    checkpoint is data: its summarizer must be a class of this project (``src.``, checked before
    anything is imported) that subclasses ``Summarizer``, and no other ``_target_`` may appear
    (the optimizer and scheduler configs are never built when loading for inference: dropped).
    """
    summarizer = hparams.get("summarizer")
    target = summarizer.get("_target_") if isinstance(summarizer, dict) else None
    if not isinstance(target, str) or not re.fullmatch(r"src(\.[A-Za-z_]\w*)+", target):
        raise CheckpointError(
            f"checkpoint {path} names summarizer {target!r}: not a class of this project (src.summarizers...); refused"
        )
    nested = _first_target({k: v for k, v in summarizer.items() if k != "_target_"}, "summarizer")
    nested = nested or _first_target(
        {k: v for k, v in hparams.items() if k not in ("summarizer", "optimizer", "scheduler")}, ""
    )
    if nested:
        raise CheckpointError(
            f"checkpoint {path} has a _target_ at {nested}: refused (only the summarizer may name a class)"
        )
    from hydra.utils import get_object

    from src.summarizers.base import Summarizer

    try:
        cls, problem = get_object(target), None
    except Exception as exc:  # noqa: BLE001  (a project module or class that does not exist)
        cls, problem = None, _first_line(exc)
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} cannot rebuild its model: {problem}")
    if not (isinstance(cls, type) and issubclass(cls, Summarizer)):
        raise CheckpointError(f"checkpoint {path} names summarizer {target}, which is not a Summarizer; refused")
    names = hparams.get("label_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise CheckpointError(f"checkpoint {path} has label_names that are not a list of strings")


def _first_target(value, where: str) -> str | None:
    """The key path of the first ``_target_`` inside ``value`` (dicts and lists), or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if key == "_target_":
                return here
            found = _first_target(item, here)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _first_target(item, f"{where}[{i}]")
            if found:
                return found
    return None


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
    check_hyperparameters(hparams, path)
    hparams.pop("optimizer", None)  # training settings: never built for inference, so never trusted
    hparams.pop("scheduler", None)
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
