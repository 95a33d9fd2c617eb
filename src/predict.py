"""Label raw text with a trained model: ``python -m src.predict ckpt_path=PATH text="..."``.

``input=FILE`` reads one text per line, or the ``column`` of a .csv/.tsv file (``input=-`` reads
stdin). Each text gives one JSON line, in input order::

    {"line": 1, "text": "...", "label": "positive", "probabilities": {"negative": 0.1, "positive": 0.9},
     "tokens": 7, "unknown_words": 1}

Words the tokenizer never saw in training become [UNK] and are counted in ``unknown_words`` (the
model still answers). A text with no tokens at all (an empty line) gets ``"label": null`` and
``"probabilities": null`` rather than being dropped, so output line *i* always answers input text
*i*. A missing or incompatible checkpoint is a one-line error (exit status 2).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

import hydra
from omegaconf import DictConfig

from src.utils import resolvers  # noqa: F401  (registers ${unique_id:} etc. before Hydra composes)
from src.utils.cli import check_settings, hydra_entry, require_checkpoint, user_errors
from src.utils.errors import UserError, shown_names

log = logging.getLogger("src.predict")


class InputError(UserError, ValueError):
    """Bad command-line input, in one line naming the file, column, line or setting."""


def read_texts(path: str, column: str = "text", stdin: BinaryIO | TextIO | None = None) -> list[str]:
    """All texts of ``iter_texts`` in a list (for a few sentences; ``predict`` streams instead)."""
    return list(iter_texts(path, column, stdin))


def iter_texts(path: str, column: str = "text", stdin: BinaryIO | TextIO | None = None) -> Iterator[str]:
    """The texts of a .csv/.tsv file's ``column``, or of each line of any other file ('-': stdin),
    read line by line, so memory does not grow with the input. Input that is not UTF-8 text (or
    holds NUL bytes: a binary file) is an error naming the line."""
    if path == "-":
        stream = stdin or sys.stdin
        raw = stream if isinstance(stream, io.BufferedIOBase | io.RawIOBase) else getattr(stream, "buffer", None)
        lines = _decoded_lines(raw, "stdin") if raw is not None else iter(stream)  # a text stream: decoded already
        yield from (line.rstrip("\r\n") for line in lines)
        return
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError(f"input file not found: {file}")
    with file.open("rb") as raw:
        lines = _decoded_lines(raw, str(file))
        if file.suffix.lower() not in (".csv", ".tsv"):
            yield from (line.rstrip("\r\n") for line in lines)
            return
        # a cell may be as long as the file (training reads any size; csv's default stops at 128 kB)
        csv.field_size_limit(max(csv.field_size_limit(), file.stat().st_size))
        reader = csv.DictReader(lines, delimiter="\t" if file.suffix.lower() == ".tsv" else ",")
        if not reader.fieldnames or column not in reader.fieldnames:
            raise InputError(
                f"{file}: no column {column!r} (columns: {shown_names(reader.fieldnames)}); set column=NAME"
            )
        yield from (row[column] or "" for row in reader)


def _decoded_lines(raw: BinaryIO, where: str) -> Iterator[str]:
    """Each line of a byte stream as text (a UTF-8 byte-order mark dropped), newline kept."""
    for number, data in enumerate(raw, start=1):
        try:
            line = data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{where}: line {number} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                f"{exc.start} of the line); re-save it as UTF-8"
            ) from None
        if "\x00" in line:
            raise InputError(f"{where}: line {number} holds a NUL byte: a binary file, not text")
        yield line


def check_device(device: str) -> None:
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError, TypeError):
        kind = None
    if kind not in ("cpu", "cuda"):
        raise InputError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={device}, but torch.cuda.is_available() is False; use device=cpu")


def predict_texts(
    model,
    tokenizer,
    texts: list[str],
    batch_size: int = 256,
    max_length: int | None = 256,
    device: str = "cpu",
    first_line: int = 1,
) -> list[dict]:
    """One record per text (see the module doc), in the order given; ``first_line`` numbers the first."""
    import torch

    from src.data.batching import collate
    from src.data.tokenizer import UNK_ID, encode

    label_names = list(model.hparams.label_names)
    ids = encode(tokenizer, texts, max_length) if texts else []
    records = [
        {
            "line": first_line + i,
            "text": text,
            "label": None,
            "probabilities": None,
            "tokens": len(x),
            "unknown_words": sum(t == UNK_ID for t in x),
        }
        for i, (text, x) in enumerate(zip(texts, ids))
    ]
    todo = sorted((i for i, x in enumerate(ids) if x), key=lambda i: len(ids[i]))  # length-sorted: little padding
    model = model.to(device).eval()
    with torch.inference_mode():
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            batch = collate([{"input_ids": ids[i], "index": i} for i in chunk])
            probabilities = torch.softmax(model(batch["input_ids"].to(device), batch["lengths"].to(device)), dim=-1)
            for i, row in zip(chunk, probabilities.float().cpu().tolist()):
                best = max(range(len(row)), key=row.__getitem__)
                records[i]["label"] = label_names[best]
                records[i]["probabilities"] = {name: round(p, 6) for name, p in zip(label_names, row)}
    return records


def predict_stream(model, tokenizer, texts: Iterable[str], chunk_size: int = 10_000, **options) -> Iterator[dict]:
    """``predict_texts`` over ``chunk_size`` texts at a time (length-sorted within each chunk), so a
    million lines or an endless stdin run in bounded memory; records come out in input order."""
    chunk: list[str] = []
    line = 1
    for text in texts:
        chunk.append(text)
        if len(chunk) == chunk_size:
            yield from predict_texts(model, tokenizer, chunk, first_line=line, **options)
            line, chunk = line + len(chunk), []
    if chunk:
        yield from predict_texts(model, tokenizer, chunk, first_line=line, **options)


def write_jsonl(records: Iterable[dict], out: TextIO, flush_every: int = 1000) -> tuple[int, int]:
    """One JSON line per record, flushed as it goes; returns (records, records without tokens)."""
    count = empty = 0
    for count, record in enumerate(records, start=1):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        empty += record["label"] is None
        if count % flush_every == 0:
            out.flush()
    out.flush()
    return count, empty


def predict(cfg: DictConfig) -> int:
    """Streams predictions to ``output`` (atomically) or stdout; returns how many were written."""

    from src.loading import load_classifier
    from src.utils.cpu import configure_cpu
    from src.utils.io import atomic_write

    if (cfg.get("text") is None) == (cfg.get("input") is None):
        raise InputError('give exactly one of text="..." or input=FILE')
    check_settings(cfg)
    check_device(str(cfg.device))
    configure_cpu(cfg)
    texts = [str(cfg.text)] if cfg.get("text") is not None else iter_texts(str(cfg.input), cfg.column)
    model, tokenizer, _ = load_classifier(cfg.ckpt_path)
    records = predict_stream(
        model, tokenizer, texts, batch_size=int(cfg.batch_size), max_length=cfg.get("max_length"), device=cfg.device
    )
    if cfg.get("output"):
        path = Path(cfg.output).expanduser()
        with atomic_write(path, "w") as f:  # a full disk leaves the previous file, not half a new one
            count, empty = write_jsonl(records, f)
        print(f"wrote {count} predictions to {path}", file=sys.stderr)
    else:
        count, empty = write_jsonl(records, sys.stdout)
    if empty:
        log.warning("%d of %d texts have no tokens (empty lines?); their label is null", empty, count)
    return count


@hydra.main(version_base="1.3", config_path="../conf", config_name="predict")
@user_errors
def main(cfg: DictConfig) -> None:
    require_checkpoint(
        cfg.get("ckpt_path"), 'give the model: ckpt_path=outputs/runs/.../checkpoints/epoch_XXX.ckpt text="..."'
    )
    predict(cfg)


if __name__ == "__main__":
    hydra_entry(main)
