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

The documents are made in ``scale_data``, each measurement has its module (``scale_memory``,
``scale_encoder``, ``scale_loader``) and ``scale_report`` checks the targets and writes the table;
this module is the command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from src.bench.scale_data import REPO, source_sentences, write_documents
from src.bench.scale_encoder import measure_encoder
from src.bench.scale_loader import child_loader, child_loader_epoch
from src.bench.scale_memory import child_prepare, fit_memory
from src.bench.scale_report import check_targets, format_table
from src.bench.sweep import cpu_model, git_commit
from src.summarizers.base import ConfigError
from src.utils.cli import user_errors


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


def in_child(function: Callable[..., None], *args) -> dict:
    """Run ``function(*args)`` in a fresh Python process; its RESULT line as a dict."""
    name = function.__name__
    code = f"import sys; from {function.__module__} import {name}; {name}(*sys.argv[1:])"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=REPO, env=env, capture_output=True, text=True
    )
    line = next((line for line in out.stdout.splitlines() if line.startswith("RESULT ")), None)
    if out.returncode or line is None:
        raise RuntimeError(f"{name} failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(line[len("RESULT ") :])


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
            cold = in_child(child_prepare, csv_path, cache_dir, tmp)
            say(f"{docs:,} documents: cached")
            cached = in_child(child_prepare, csv_path, cache_dir, tmp)
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
                loader = in_child(child_loader, csv_path, cache_dir, tmp, args.loader_batches)
                results["loader"] = {"docs": docs, **loader}
                if args.loader_epoch:
                    say(f"{docs:,} documents: one whole lstm_h epoch")
                    epoch = in_child(child_loader_epoch, csv_path, cache_dir, tmp, args.loader_sample)
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
