"""``python -m src.inspect``: pictures of how trained summarizers read sentences.

    python -m src.inspect ckpt_path=RUN/checkpoints/epoch_007.ckpt text="the plot was dull , but the acting was great ."
    python -m src.inspect ckpt_path=SWEEP_DIR input=sentences.txt      # every job of a sweep, side by side
    python -m src.inspect ckpt_path=[a.ckpt,b.ckpt] text="..." together=true

``ckpt_path`` is a checkpoint, a run dir (its best checkpoint, from ``results.json``), a sweep dir
(every job's), or a list of these. ``input=FILE`` holds one sentence per line (blank lines are
skipped), or is a .csv/.tsv whose ``column`` holds them. Writes one PNG per sentence into
``out_dir`` (``together=true``: one PNG for all) and prints a short summary per sentence: each
model's prediction and its most important words.

A missing or incompatible checkpoint, an empty text or a bad setting is one line ``error: ...`` on
stderr with exit status 2.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import hydra
from omegaconf import DictConfig, ListConfig

from src.report.loading import job_order
from src.utils import resolvers  # noqa: F401  (registers ${unique_id:} etc. before Hydra composes)
from src.utils.cli import user_errors
from src.utils.cpu import configure_cpu
from src.utils.errors import UserError

log = logging.getLogger("src.inspect")
TOP_WORDS = 3
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


class InspectError(UserError, ValueError):
    """Bad input to ``src.inspect`` (no text, no checkpoint in a folder), in one line."""


@dataclass
class Model:
    name: str
    path: Path
    model: object
    tokenizer: object


# ----------------------------------------------------------------------------- checkpoints
def _run_checkpoint(run_dir: Path) -> Path | None:
    """A run dir's best checkpoint (``results.json``), else its only epoch checkpoint, else ``last.ckpt``."""
    results = run_dir / "results.json"
    if results.is_file():
        try:
            best = json.loads(results.read_text()).get("best_checkpoint")
        except (OSError, ValueError):
            best = None
        if best:
            for candidate in (Path(best), run_dir / "checkpoints" / Path(best).name):
                if candidate.is_file():
                    return candidate
    found = sorted(p for p in (run_dir / "checkpoints").glob("*.ckpt") if p.name != "last.ckpt")
    if found:
        return found[-1]
    last = run_dir / "checkpoints" / "last.ckpt"
    return last if last.is_file() else None


def checkpoint_paths(spec) -> list[Path]:
    """The checkpoints ``ckpt_path`` names: files, run dirs, sweep dirs, or a list of those."""
    items = list(spec) if isinstance(spec, (list, tuple, ListConfig)) else [spec]
    paths = []
    for item in items:
        path = Path(str(item)).expanduser()
        if path.is_file():
            paths.append(path)
            continue
        if not path.exists():
            raise InspectError(f"checkpoint not found: {path}")
        own = _run_checkpoint(path)
        if own is not None:
            paths.append(own)
            continue
        jobs = [_run_checkpoint(d) for d in sorted((d for d in path.iterdir() if d.is_dir()), key=job_order)]
        jobs = [j for j in jobs if j is not None]
        if not jobs:
            raise InspectError(
                f"no checkpoint in {path} (neither a run dir with checkpoints/ nor a sweep dir whose jobs have one)"
            )
        paths += jobs
    return paths


def load_models(paths: list[Path]) -> list[Model]:
    from src.loading import RUN_KEY, load_classifier

    models = []
    for path in paths:
        model, tokenizer, checkpoint = load_classifier(path)
        name = (checkpoint.get(RUN_KEY) or {}).get("summarizer_name") or str(
            model.hparams.summarizer.get("_target_", "model")
        ).rsplit(".", 1)[-1]
        models.append(Model(str(name), path, model, tokenizer))
    counts = {m.name: sum(o.name == m.name for o in models) for m in models}
    for m in models:  # two runs of one summarizer: tell them apart by their run dir
        if counts[m.name] > 1:
            run = m.path.parent.parent.name if m.path.parent.name == "checkpoints" else m.path.stem
            m.name = f"{m.name} ({run})"
    return models


# ----------------------------------------------------------------------------- sentences
def read_sentences(cfg: DictConfig) -> list[str]:
    from src.predict import read_texts

    if (cfg.get("text") is None) == (cfg.get("input") is None):
        raise InspectError('give exactly one of text="..." or input=FILE')
    if cfg.get("text") is not None:
        text = str(cfg.text)
        if not text.strip():
            raise InspectError('the text is empty: give a sentence, text="the plot was dull , but ..."')
        return [text]
    texts = read_texts(str(cfg.input), str(cfg.column))  # a missing or unreadable file: InputError, one line
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise InspectError(f"{cfg.input}: no sentence (every line is empty)")
    return texts


def words_of(text: str, tokenizer, max_length: int | None) -> tuple[list[int], list[str], int]:
    """(token ids, the words as written, number of [UNK]) of ``text``, truncated to ``max_length``."""
    from src.data.tokenizer import UNK_ID

    encoding = tokenizer.encode(text, add_special_tokens=False)
    ids, offsets = encoding.ids, encoding.offsets
    if max_length:
        ids, offsets = ids[:max_length], offsets[:max_length]
    words = [text[a:b] + ("*" if i == UNK_ID else "") for i, (a, b) in zip(ids, offsets)]
    return ids, words, sum(i == UNK_ID for i in ids)


# ----------------------------------------------------------------------------- reading
def read_sentence(models: list[Model], text: str, max_length: int | None, ig_steps: int, ig_tolerance: float = 0.01):
    """``(figure sections, summary lines)`` of one sentence: one section, or one per tokenization
    when the models' tokenizers split the text differently."""
    import torch

    from .attribution import (
        adaptive_integrated_gradients,
        class_probabilities,
        leave_one_out,
        zero_vector_probabilities,
    )
    from .figure import ModelView, Section
    from .states import read_states

    sections, lines, unknown_words = [], [], []
    for m in models:
        ids, words, unknown = words_of(text, m.tokenizer, max_length)
        if not ids:
            raise InspectError(f"the text has no words the tokenizer can read: {text!r}")
        input_ids, lengths = torch.tensor([ids]), torch.tensor([len(ids)])
        probabilities = class_probabilities(m.model, input_ids, lengths)
        target = probabilities.argmax(-1)
        loo = leave_one_out(m.model, input_ids, lengths, target)[0].numpy()
        ig, delta, steps = adaptive_integrated_gradients(m.model, input_ids, lengths, target, ig_steps, ig_tolerance)
        view = ModelView(
            m.name,
            list(m.model.hparams.label_names),
            probabilities[0].numpy(),
            loo,
            ig[0].numpy(),
            read_states(m.model, input_ids, lengths)[0],
            float(zero_vector_probabilities(m.model, lengths)[0, target[0]]),
        )
        if not sections or words != sections[-1].words:
            sections.append(Section(f"“{_short(text, 150)}”", words))
            unknown_words.append(unknown)
        sections[-1].views.append(view)
        lines.append(_summary_line(view, words, float(delta[0]), steps))
    for section, unknown in zip(sections, unknown_words):
        if unknown:
            section.footnote = "* unknown to the model's vocabulary: read as [UNK]"
    return sections, lines


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top(words: list[str], values, k: int = TOP_WORDS) -> str:
    order = sorted(range(len(words)), key=lambda t: -abs(float(values[t])))[:k]
    return ", ".join(f"{words[t]} {float(values[t]):+.2f}" for t in order)


def _summary_line(view, words: list[str], delta: float, steps: int) -> str:
    label = view.label_names[view.predicted]
    note = f"; {view.readout.note}" if view.readout.note and not view.readout.panels else ""
    return (
        f"  {view.name}: {label} {view.probabilities[view.predicted]:.2f} | leave-one-out: "
        f"{_top(words, view.loo)} | integrated gradients: {_top(words, view.ig)} ({steps} steps, completeness "
        f"error {delta:+.3f}){note}"
    )


def _file_name(index: int, text: str) -> str:
    slug = "_".join(re.findall(r"[a-z0-9]+", text.lower())[:6]) or "sentence"
    return f"{index:02d}_{slug}.png"


def inspect(cfg: DictConfig) -> list[Path]:
    """Draw and summarize every sentence; returns the PNGs written. Settings, sentences and checkpoint
    paths are checked before torch is imported, so those mistakes are answered at once."""
    for key, kind, ok in (("ig_steps", int, lambda v: v >= 1), ("ig_tolerance", float, lambda v: v > 0)):
        value = cfg.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not ok(value)
            or (kind is int and not float(value).is_integer())
        ):
            raise InspectError(f"{key} must be a positive {'integer' if kind is int else 'number'}, got {value!r}")
    texts = read_sentences(cfg)
    paths = checkpoint_paths(cfg.ckpt_path)
    configure_cpu(cfg)
    models = load_models(paths)
    from .figure import draw

    out_dir = Path(str(cfg.out_dir)).expanduser()
    max_length = cfg.get("max_length")
    written, together = [], []
    for index, text in enumerate(texts, start=1):
        sections, lines = read_sentence(models, text, max_length, int(cfg.ig_steps), float(cfg.ig_tolerance))
        if cfg.together:
            together += sections
            print(f"sentence {index}: {_short(text, 100)}")
        else:
            path = draw(sections, out_dir / _file_name(index, text))
            written.append(path)
            print(f"sentence {index}: {_short(text, 100)} -> {path}")
        print("\n".join(lines))
    if cfg.together:
        path = draw(together, out_dir / str(cfg.get("name") or "inspect.png"))
        written.append(path)
        print(f"wrote {path}")
    return written


# An absolute path: Hydra resolves a relative one against this module's package, which has no conf/.
@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="inspect")
@user_errors
def main(cfg: DictConfig) -> None:
    if not cfg.get("ckpt_path"):
        raise InspectError(
            "give the model(s): ckpt_path=RUN/checkpoints/epoch_XXX.ckpt (or a run or sweep dir, "
            'or [a.ckpt,b.ckpt]) text="..."'
        )
    inspect(cfg)


def quote_text_argument(argv: list[str]) -> list[str]:
    """``text=a , b`` as Hydra's quoted string ``text='a , b'``: a sentence has commas, which Hydra
    would otherwise read as a sweep over several values."""
    out = []
    for arg in argv:
        if arg.startswith("text=") and not arg[5:].startswith(("'", '"')):
            value = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", arg[5:])  # \ before a quote doubles
            value = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, value)  # so does one before the closing quote
            value = value.replace("${", "\\${")  # text, not an OmegaConf interpolation
            arg = f"text='{value}'"
        out.append(arg)
    return out
