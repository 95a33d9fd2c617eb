"""Data preparation as a set grows: ``python -m src.bench.scale [--docs 10000,100000,1000000] [--out scale.json]``.

Builds CSVs of ``--docs`` documents (MR sentences from ``../shared/data/mr/train.csv`` concatenated to
about ``--tokens-per-doc`` tokens, else sentences of the built-in generator) in a temporary folder,
deleted afterwards, and for each size prepares it as ``data=files data.train_file=<csv>`` does, in
a fresh process each time: cold (empty cache), then cached. Measured:

* ``cold`` / ``cached``: ``setup()`` seconds and the process's peak resident memory (VmHWM, imports
  included), tokens, and ``bytes_per_token`` (cold peak / tokens);
* ``fit``: cold peak = fixed + slope x tokens, least squares over the sizes (target: slope <= 25 B);
* ``encoder``: tokens per second of the pipeline's encoder (``encode_flat`` from Arrow, ids into one
  flat array) over the HF ``tokenizers`` batch encoder's own (``encode_batch`` on a ready list of
  the same texts), side by side in one process (target >= 0.7);
* ``loader``: per-batch time of fetching and collating training batches from the memory-mapped
  cache (batch 64, bucketing on) against the ``lstm_h`` training step on the same batches
  (embedding 300, hidden 256, 1 thread): (step + load) / step, target <= 1.1, measured on
  ``--loader-docs`` documents (default: the largest size up to 200,000);
* ``loader_epoch`` (``--loader-epoch``): one whole ``lstm_h`` training epoch of that set on every
  core, each batch loaded and then stepped, its wall time over the steps' own (target <= 1.1).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from src.bench.sweep import cpu_model, git_commit
from src.summarizers.base import ConfigError
from src.utils.cli import user_errors

REPO = Path(__file__).resolve().parents[2]
MR_TRAIN = REPO.parent / "shared" / "data" / "mr" / "train.csv"
TARGETS = {
    "slope_bytes_per_token": ("<=", 25.0),
    "encoder_ratio": (">=", 0.7),
    "loader_ratio": ("<=", 1.1),
    "loader_epoch_ratio": ("<=", 1.1),
}
WORD = re.compile(r"\w+|[^\w\s]+")  # what the Whitespace pre-tokenizer splits on


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m src.bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", default="10000,100000,1000000", help="comma-separated set sizes (documents)")
    parser.add_argument("--out", default="scale.json", help="where to write the results (JSON)")
    parser.add_argument("--tokens-per-doc", type=int, default=126, help="about this many tokens a document")
    parser.add_argument(
        "--loader-docs", type=int, default=None, help="set size of the loader check (default: largest <= 200,000)"
    )
    parser.add_argument("--encoder-docs", type=int, default=20_000, help="documents encoded by each encoder")
    parser.add_argument("--loader-batches", type=int, default=50, help="training batches timed in the loader check")
    parser.add_argument(
        "--loader-epoch",
        action="store_true",
        help="also train one whole epoch of the loader set on every core (200,000 documents: about 7 minutes here)",
    )
    parser.add_argument(
        "--loader-sample", type=int, default=100, help="batches of that epoch stepped again alone, to compare"
    )
    args = parser.parse_args(argv)
    try:
        args.docs = sorted({int(d) for d in args.docs.split(",") if d.strip()})
    except ValueError:
        raise ConfigError(f"--docs: expected comma-separated integers, got {args.docs!r}") from None
    if not args.docs or args.docs[0] < 10:
        raise ConfigError(f"--docs: every size must be >= 10 documents, got {args.docs}")
    if args.loader_docs is None:
        args.loader_docs = max([d for d in args.docs if d <= 200_000] or [args.docs[0]])
    if args.loader_docs < 200:  # a few training batches of 64 after carving validation and test
        raise ConfigError(f"--loader-docs must be >= 200, got {args.loader_docs}")
    for name in ("tokens_per_doc", "encoder_docs", "loader_batches", "loader_sample"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def say(message: str) -> None:
    print(f"[scale] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the data
def source_sentences() -> tuple[list[str], list[int], str]:
    """Sentences and their labels to build documents from: MR's training set when present, else the
    built-in generator's."""
    if MR_TRAIN.is_file():
        with open(MR_TRAIN, encoding="utf-8-sig", newline="") as f:
            rows = [(r["text"], int(r["label"])) for r in csv.DictReader(f) if r["text"].strip()]
        return [t for t, _ in rows], [y for _, y in rows], str(MR_TRAIN)
    from src.data.synthetic import make_order_sentiment

    train = make_order_sentiment(n_train=8000, n_validation=2, n_test=2)["train"]
    return list(train["text"]), list(train["label"]), "the built-in generator"


def write_documents(path: Path, docs: int, sentences: list[str], labels: list[int], tokens_per_doc: int) -> None:
    """``docs`` documents of randomly drawn sentences (about ``tokens_per_doc`` tokens each); a
    document's label is its first sentence's."""
    per_doc = tokens_per_doc / statistics.mean(len(WORD.findall(s)) for s in sentences)  # sentences a document
    fewer = max(1, int(per_doc))
    rng = np.random.default_rng(docs)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for start in range(0, docs, 50_000):
            n = min(50_000, docs - start)
            drawn = rng.integers(0, len(sentences), size=(n, fewer + 1))
            counts = fewer + (rng.random(n) < per_doc - fewer)  # fewer or fewer + 1, on average per_doc
            writer.writerows(
                (" ".join(sentences[i] for i in row[:count]), labels[row[0]]) for row, count in zip(drawn, counts)
            )


# --------------------------------------------------------------------------- one preparation, in its own process
def vm_kib(field: str) -> int:
    """A ``/proc/self/status`` field (VmHWM: peak resident memory; VmRSS: now) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def data_overrides(csv_path: str, cache_dir: str) -> list[str]:
    return ["data=files", f"data.train_file={csv_path}", f"data.cache_dir={cache_dir}", "logger=none"]


def child_prepare(csv_path: str, cache_dir: str, workdir: str) -> None:
    """Set up ``data=files data.train_file=<csv>`` and print one JSON line about it."""
    import hydra

    from src.bench.config import compose

    cfg = compose(data_overrides(csv_path, cache_dir), Path(workdir))
    datamodule = hydra.utils.instantiate(cfg.data)
    import_rss = vm_kib("VmRSS")
    start = time.perf_counter()
    datamodule.setup()
    seconds = time.perf_counter() - start
    splits = datamodule.splits.values()
    result = {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(vm_kib("VmHWM") / 1024, 1),
        "import_rss_mb": round(import_rss / 1024, 1),
        "tokens": int(sum(len(s.flat) for s in splits)),
        "docs_kept": int(sum(len(s) for s in splits)),
        "cache_hit": datamodule.cache_hit,
    }
    print("RESULT " + json.dumps(result))


def lstm_h_training(csv_path: str, cache_dir: str, workdir: str, threads: int):
    """The set's datamodule and an ``lstm_h`` training step (embedding 300, hidden 256, batch 64)
    on ``threads`` threads, as the loader checks use them."""
    import hydra
    import torch

    from src.bench.config import compose
    from src.bench.timing import build_model, make_step
    from src.utils.cpu import configure_cpu

    configure_cpu({"threads": threads})  # as the training script's processes
    overrides = ["summarizer=lstm_h", "model.embedding.dim=300", "summarizer.hidden_size=256", "data.batch_size=64"]
    cfg = compose(data_overrides(csv_path, cache_dir) + overrides, Path(workdir))
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup()
    model, optimizer = build_model(cfg, datamodule, torch.device("cpu"))
    step = make_step(model, optimizer, cfg.trainer.get("gradient_clip_val"), torch.device("cpu"), "32")
    return datamodule, step


def child_loader(csv_path: str, cache_dir: str, workdir: str, batches: str) -> None:
    """Per-batch loader time (fetch + collate from the memory-mapped cache) against the lstm_h
    training step on the same batches, one thread; prints one JSON line."""
    datamodule, step = lstm_h_training(csv_path, cache_dir, workdir, threads=1)
    loader = datamodule.train_dataloader()
    start = time.perf_counter()
    list(loader.batch_sampler)  # the epoch's batch list, made once an epoch: spread over its batches below
    epoch_start_ms = 1e3 * (time.perf_counter() - start)
    iterator = iter(loader)
    next(iterator)  # the first batch also makes the batch list
    load_seconds, loaded = [], []
    for _ in range(min(int(batches), len(loader) - 1)):
        start = time.perf_counter()
        loaded.append(next(iterator))
        load_seconds.append(time.perf_counter() - start)
    for batch in loaded[:3]:  # warm-up
        step(batch)
    step_seconds = []
    for batch in loaded:
        start = time.perf_counter()
        step(batch)
        step_seconds.append(time.perf_counter() - start)
    load_ms = 1e3 * statistics.mean(load_seconds) + epoch_start_ms / len(loader)
    step_ms = 1e3 * statistics.mean(step_seconds)
    result = {
        "cache_hit": datamodule.cache_hit,
        "batch_size": 64,
        "batches": len(loaded),
        "epoch_batches": len(loader),
        "epoch_start_ms": round(epoch_start_ms, 2),
        "load_ms": round(load_ms, 3),
        "step_ms": round(step_ms, 2),
        "ratio": round((step_ms + load_ms) / step_ms, 4),
    }
    print("RESULT " + json.dumps(result))


def child_loader_epoch(csv_path: str, cache_dir: str, workdir: str, sample: str) -> None:
    """One whole training epoch as a training loop meets it (each batch loaded, then the lstm_h
    step on it, on every core as the bench steps), against the steps alone: its wall time over the
    sum of the steps' times with nothing loading in between. Re-timing every batch alone would
    double the run, so ``sample`` of the epoch's batches (spread over it) are stepped again alone,
    and the in-epoch step times are scaled by how those compare. Prints one JSON line."""
    datamodule, step = lstm_h_training(csv_path, cache_dir, workdir, threads=os.cpu_count())
    loader = datamodule.train_dataloader()
    warm = iter(loader)
    for _ in range(3):
        step(next(warm))
    del warm
    every = max(1, len(loader) // int(sample))
    kept, load_seconds, step_seconds = {}, [], []
    epoch_start = last = time.perf_counter()
    for index, batch in enumerate(loader):  # as Lightning's loop and src.bench.lightning_loop.plain_epoch fetch it
        loaded = time.perf_counter()
        step(batch)
        stepped = time.perf_counter()
        load_seconds.append(loaded - last)
        step_seconds.append(stepped - loaded)
        last = stepped
        if index % every == 0 and len(kept) < int(sample):
            kept[index] = batch
    epoch_seconds = time.perf_counter() - epoch_start
    alone = {}
    for index, batch in kept.items():
        start = time.perf_counter()
        step(batch)
        alone[index] = time.perf_counter() - start
    drift = sum(alone.values()) / sum(step_seconds[i] for i in alone)  # alone / in the epoch, same batches
    steps_alone = sum(step_seconds) * drift
    result = {
        "cache_hit": datamodule.cache_hit,
        "batch_size": 64,
        "threads": os.cpu_count(),
        "epoch_batches": len(step_seconds),
        "epoch_s": round(epoch_seconds, 2),
        "load_s": round(sum(load_seconds), 3),
        "steps_in_epoch_s": round(sum(step_seconds), 2),
        "sample_batches": len(alone),
        "alone_over_in_epoch": round(drift, 4),
        "steps_alone_s": round(steps_alone, 2),
        "ratio": round(epoch_seconds / steps_alone, 4),
    }
    print("RESULT " + json.dumps(result))


def in_child(function: str, *args) -> dict:
    """Run ``function(*args)`` of this module in a fresh Python process; its RESULT line as a dict."""
    code = f"import sys; from src.bench.scale import {function}; {function}(*sys.argv[1:])"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=REPO, env=env, capture_output=True, text=True
    )
    line = next((line for line in out.stdout.splitlines() if line.startswith("RESULT ")), None)
    if out.returncode or line is None:
        raise RuntimeError(f"{function} failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(line[len("RESULT ") :])


# --------------------------------------------------------------------------- the encoder, side by side
def measure_encoder(csv_path: Path, docs: int, rounds: int = 3) -> dict:
    """The pipeline's encoder (Arrow texts in batches -> flat ids) against ``encode_batch`` on a list
    of the same texts, best of ``rounds`` each, taking turns."""
    from src.data.sources import read_delimited
    from src.data.texts import text_batches
    from src.data.tokenizer import encode_flat, train_word_tokenizer

    column = read_delimited(csv_path, "text").column("text").slice(0, docs)
    index = np.arange(len(column))
    tokenizer = train_word_tokenizer(text_batches(column, index))
    texts = column.to_pylist()
    ours, theirs = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        flat, _, _ = encode_flat(tokenizer, text_batches(column, index), None)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
        theirs.append(time.perf_counter() - start)
    same = np.array_equal(flat, np.fromiter(itertools.chain.from_iterable(e.ids for e in encodings), dtype=np.int32))
    tokens = len(flat)
    return {
        "docs": len(texts),
        "tokens": tokens,
        "same_ids": same,
        "encode_flat_tokens_per_s": round(tokens / min(ours)),
        "encode_batch_tokens_per_s": round(tokens / min(theirs)),
        "ratio": round(min(theirs) / min(ours), 3),
    }


# --------------------------------------------------------------------------- the results
def fit_memory(sizes: list[dict]) -> dict:
    """Cold peak = fixed + slope x tokens, least squares (one size: slope from the origin)."""
    tokens = np.array([s["tokens"] for s in sizes], dtype=float)
    peak = np.array([s["cold"]["peak_rss_mb"] * 2**20 for s in sizes])
    if len(sizes) > 1:
        slope, fixed = np.polyfit(tokens, peak, 1)
    else:
        slope, fixed = peak[0] / tokens[0], 0.0
    return {"fixed_mb": round(float(fixed) / 2**20, 1), "slope_bytes_per_token": round(float(slope), 2)}


def check_targets(results: dict) -> dict:
    values = {
        "slope_bytes_per_token": results["fit"]["slope_bytes_per_token"],
        "encoder_ratio": results["encoder"]["ratio"],
        "loader_ratio": results["loader"]["ratio"],
    }
    if "loader_epoch" in results:
        values["loader_epoch_ratio"] = results["loader_epoch"]["ratio"]
    return {
        name: {
            "value": values[name],
            "target": f"{op} {bound}",
            "met": bool(values[name] <= bound if op == "<=" else values[name] >= bound),
        }
        for name, (op, bound) in TARGETS.items()
        if name in values
    }


def format_table(results: dict) -> str:
    lines = [
        "| documents | tokens | cold s | cold peak MB | cached s | cached peak MB | bytes/token (cold peak) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["sizes"]:
        lines.append(
            f"| {s['docs']:,} | {s['tokens']:,} | {s['cold']['seconds']:.1f} | {s['cold']['peak_rss_mb']:,.0f} | "
            f"{s['cached']['seconds']:.2f} | {s['cached']['peak_rss_mb']:,.0f} | {s['bytes_per_token']:.1f} |"
        )
    fit, encoder, loader = results["fit"], results["encoder"], results["loader"]
    lines += [
        "",
        f"- cold peak = {fit['fixed_mb']:,.0f} MB + {fit['slope_bytes_per_token']:.1f} B x tokens (least squares)",
        f"- encoder: {encoder['encode_flat_tokens_per_s']:,} tokens/s against encode_batch's "
        f"{encoder['encode_batch_tokens_per_s']:,} on {encoder['docs']:,} documents: ratio {encoder['ratio']:.2f}",
        f"- loader ({loader['docs']:,} documents, batch {loader['batch_size']}): {loader['load_ms']:.2f} ms a batch "
        f"against an lstm_h step of {loader['step_ms']:.1f} ms: (step + load) / step = {loader['ratio']:.3f}",
    ]
    if "loader_epoch" in results:
        epoch = results["loader_epoch"]
        lines.append(
            f"- one whole lstm_h epoch ({epoch['epoch_batches']:,} batches): {epoch['epoch_s']:,.1f} s against "
            f"{epoch['steps_alone_s']:,.1f} s of steps alone (loading {epoch['load_s']:.2f} s): "
            f"ratio {epoch['ratio']:.3f}"
        )
    lines += [
        f"- target {name} {t['target']}: {t['value']} ({'met' if t['met'] else 'NOT met'})"
        for name, t in results["targets"].items()
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    from src.utils.io import write_json_atomic

    sentences, labels, origin = source_sentences()
    sizes = sorted(set(args.docs) | {args.loader_docs})
    results = {
        "command": "python -m src.bench.scale " + " ".join(sys.argv[1:]),
        "source": origin,
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "commit": git_commit(),
        "date": datetime.now().isoformat(timespec="seconds"),
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="seq2vec-scale-") as tmp:
        tmp = Path(tmp)
        for docs in sizes:
            csv_path, cache_dir = tmp / f"docs{docs}" / "train.csv", tmp / f"cache{docs}"
            csv_path.parent.mkdir()
            write_documents(csv_path, docs, sentences, labels, args.tokens_per_doc)
            say(f"{docs:,} documents ({csv_path.stat().st_size / 2**20:,.0f} MB): cold")
            cold = in_child("child_prepare", csv_path, cache_dir, tmp)
            say(f"{docs:,} documents: cached")
            cached = in_child("child_prepare", csv_path, cache_dir, tmp)
            if cold["cache_hit"] or not cached["cache_hit"]:
                raise RuntimeError(f"{docs} documents: expected a cold run then a cache hit, got {cold}, {cached}")
            results["sizes"].append(
                {
                    "docs": docs,
                    "csv_mb": round(csv_path.stat().st_size / 2**20, 1),
                    "tokens": cold["tokens"],
                    "cold": cold,
                    "cached": cached,
                    "bytes_per_token": round(cold["peak_rss_mb"] * 2**20 / cold["tokens"], 1),
                }
            )
            if docs == args.loader_docs:
                say(f"{docs:,} documents: encoder and loader")
                results["encoder"] = measure_encoder(csv_path, min(docs, args.encoder_docs))
                loader = in_child("child_loader", csv_path, cache_dir, tmp, args.loader_batches)
                results["loader"] = {"docs": docs, **loader}
                if args.loader_epoch:
                    say(f"{docs:,} documents: one whole lstm_h epoch")
                    epoch = in_child("child_loader_epoch", csv_path, cache_dir, tmp, args.loader_sample)
                    results["loader_epoch"] = {"docs": docs, **epoch}
            shutil.rmtree(csv_path.parent)  # the largest sets are big: one on disk at a time
            shutil.rmtree(cache_dir)
    results["fit"] = fit_memory(results["sizes"])
    results["targets"] = check_targets(results)
    write_json_atomic(args.out, results)
    return results


@user_errors
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = run(args)
    print(format_table(results))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
