"""Speed benchmark: ``python -m src.bench [--device cuda] [--precision bf16] [--out bench.json]``.

Measures, in one process on one device, what a sweep pays for (issue 5, docs/performance.md):

* ``summarizers.<name>.step_ms`` / ``.tokens_per_s``: a full training step (forward, backward,
  gradient clipping, optimizer; ``.optimizer_ms`` and ``.optimizer_share``: the optimizer's step
  alone, timed in extra rounds) of the real model (``SentenceClassifier`` from the Hydra configs,
  embedding 300, hidden 256, batch 64) on real bucketed training batches (MR from
  ``../shared/data/mr`` when present, else the default dataset). The models take turns round by
  round, so slow drift on a shared machine hits all of them alike; the median round counts
  (``step_times.py``; one step as ``timing.py`` times it).
* ``avg_ch_over_lstm_hc``: the median of the two step times' ratios round by round, with the 95%
  interval of their mean (``_ci95``, ``ratios.py``); the two take more rounds until it is
  ``--ci-width`` wide.
* ``lightning_over_plain``: one training epoch through Lightning's ``Trainer``, configured as
  ``python -m src.train`` configures it (callbacks, logger, progress bar, clipping, determinism),
  over a hand-written loop doing the same work (same model, optimizer, ``training_step`` and
  batches) in the same process. Both are timed from the epoch's start to its last training batch,
  as ``TrainThroughput`` does; validation and checkpoints come after that and are not counted.
  The loops alternate, each pair of epochs gives one ratio: the median, and the interval as above
  (``lightning_loop.py``).
* ``padding_efficiency_bucketed`` / ``_random``: real tokens / padded slots over one epoch of
  training batches with and without length bucketing (``padding.py``).
* ``lstm_gflops``: matmul FLOPs of the ``lstm_h`` summarizer's forward + backward on the same
  batches (padded slots included, as the kernel computes them) per second of its best round;
  ``limit_gflops``: the device's ceiling (``src/bench/ceiling.py``: the best of several routes to
  the same FLOPs, and the CPU's FMA peak), ``limit_source`` what bounds it, ``lstm_over_limit``
  (``limit.py``).
* ``train_startup_s``: ``python -m src.train`` from process start to its first training step
  (cached data), plus ``import_s``: how much of it is importing (``startup.py``).

``--runs 3`` runs the whole benchmark three times, each in its own process, and writes each
ratio's median over the runs (the README's table). Extra Hydra overrides go at the end, e.g.
``python -m src.bench logger=wandb``. The table and the JSON: ``table.py``; the models' data and
Hydra configs: ``config.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from src.bench.config import (
    CONF_DIR,
    DEFAULT_DATA_DIR,
    REPO,
    SUMMARIZERS,
    compose,
    data_overrides,
    model_overrides,
    resolve_device,
)
from src.bench.lightning_loop import measure_lightning
from src.bench.limit import measure_limit
from src.bench.padding import padding_efficiencies
from src.bench.ratios import check_targets, mark_narrow_intervals
from src.bench.startup import measure_startup
from src.bench.step_times import measure_summarizers, summarizer_results
from src.bench.table import finite, format_table
from src.bench.timing import device_name, say
from src.summarizers.base import ConfigError
from src.utils.cli import user_errors
from src.utils.precision import cpu_flags, cpu_model, native_bf16_flags, refuse_bf16_without_onednn, resolve_precision


class _ArgumentParser(argparse.ArgumentParser):
    """A bad option is a one-line ``error:`` (exit status 2) like any other command's bad setting."""

    def error(self, message: str):
        print(f"error: {message} (see python -m src.bench --help)", file=sys.stderr)
        sys.exit(2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _ArgumentParser(prog="python -m src.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (auto: cuda when available)")
    parser.add_argument(
        "--precision",
        choices=["32", "bf16"],
        default="32",
        help="bf16: bf16 autocast (trainer.precision=bf16-mixed for Lightning)",
    )
    parser.add_argument(
        "--bf16-ratio",
        choices=["auto", "on", "off"],
        default="auto",
        help="time each summarizer's step under bf16 autocast too, in the same rounds (bf16_over_fp32); "
        "auto: where the hardware has native bf16 (CPU flags avx512_bf16/amx_bf16, or a CUDA GPU with bf16)",
    )
    parser.add_argument("--out", default="bench.json", help="where to write the results (JSON)")
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"a folder with train/validation/test files (default: {DEFAULT_DATA_DIR} when "
        "present, else the default dataset of conf/train.yaml; 'none': that dataset)",
    )
    parser.add_argument("--summarizers", default=",".join(SUMMARIZERS), help="comma-separated")
    parser.add_argument("--embedding-dim", type=int, default=300)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=8, help="training batches per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (the median counts)")
    parser.add_argument(
        "--ci-width",
        type=float,
        default=0.05,
        help="more rounds (of the two models of a ratio, or Lightning/plain epochs) until each ratio's "
        "95%% interval is at most this wide",
    )
    parser.add_argument("--max-rounds", type=int, default=40, help="at most this many rounds for a ratio")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--lightning-summarizer", default="lstm_hc")
    parser.add_argument(
        "--lightning-repeats",
        type=int,
        default=3,
        help="epochs of each loop, alternating (more, up to --max-rounds, until the ratio's interval is --ci-width)",
    )
    parser.add_argument(
        "--epoch-batches",
        type=int,
        default=None,
        help="cap an 'epoch' at this many batches (default: the whole training split)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--skip-lightning", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="whole benchmark runs, each its own process (--out gets .runN before its suffix); "
        "--out then holds each ratio's median over the runs",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides applied to every model, e.g. seed=1")
    args = parser.parse_args(argv)
    args.summarizers = [s.strip() for s in args.summarizers.split(",") if s.strip()]
    unknown = [s for s in args.summarizers if not (CONF_DIR / "summarizer" / f"{s}.yaml").is_file()]
    if unknown:
        parser.error(f"--summarizers: no conf/summarizer/{unknown[0]}.yaml")
    for name in ("batches", "rounds", "batch_size", "lightning_repeats", "max_rounds", "runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def run(args: argparse.Namespace) -> dict:
    from src.utils.cpu import configure_cpu
    from src.utils.io import write_json_atomic

    configure_cpu({"threads": args.threads})  # as the training script's processes
    device = resolve_device(args.device)
    native_bf16 = resolve_precision("auto", "gpu" if device.type == "cuda" else "cpu") == "bf16-mixed"
    if args.precision == "bf16" and not native_bf16:
        raise ConfigError(f"--precision bf16: {device_name(device)} has no native bf16 (it would be emulated, slower)")
    if args.bf16_ratio == "on" and device.type == "cpu":
        refuse_bf16_without_onednn("--bf16-ratio on")
    wanted = args.bf16_ratio == "on" or (args.bf16_ratio == "auto" and native_bf16)
    args.bf16_ratio = args.precision == "32" and wanted
    if device.type == "cuda":
        if device.index is None:  # "cuda" alone: the current device (set_device needs an index)
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
    args.data, data_name = data_overrides(args.data_dir)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seq2vec-bench-") as tmp:
        workdir = Path(tmp)
        first = compose(model_overrides(args, args.summarizers[0], device), workdir)
        # As the trainer will: deterministic kernels iff the trainer config asks for them.
        if first.trainer.get("deterministic"):
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(bool(first.trainer.get("deterministic")))
        import hydra

        setup_start = time.perf_counter()
        datamodule = hydra.utils.instantiate(first.data)
        datamodule.setup("fit")
        data_setup_s = time.perf_counter() - setup_start

        results: dict = {
            "device": device_name(device),
            "torch": torch.__version__,
            "precision": args.precision,
            "cpu": {
                "model": cpu_model(),
                "bf16_flags": native_bf16_flags(),
                "amx_flags": sorted(flag for flag in cpu_flags() if flag.startswith("amx")),
                "cores": os.cpu_count(),
            },
            "data": f"{datamodule.name} from {data_name}",
            "batch_size": args.batch_size,
            "embedding_dim": args.embedding_dim,
            "hidden_size": args.hidden_size,
            "data_setup_s": data_setup_s,
            "threads": torch.get_num_threads(),
        }
        phases = {"data_setup": data_setup_s}
        mark = time.perf_counter()
        say(
            f"data {results['data']}: {len(datamodule.splits['train'])} training examples "
            f"(setup {data_setup_s:.1f} s); "
            f"timing {len(args.summarizers)} models, {args.warmup} + {args.rounds} rounds of {args.batches} batches"
        )
        rows, cfgs, batches, ratios = measure_summarizers(args, datamodule, device, workdir)
        phases["summarizers"], mark = time.perf_counter() - mark, time.perf_counter()
        results.update(summarizer_results(rows, batches, ratios, args.rounds))
        if not args.skip_lightning:
            say(f"Lightning vs a plain loop: {args.lightning_repeats} epoch(s) each of {args.lightning_summarizer}")
            results.update(measure_lightning(args, datamodule, device, workdir))
            phases["lightning"], mark = time.perf_counter() - mark, time.perf_counter()
        results.update(padding_efficiencies(datamodule, args.batch_size))
        lstm_cfg = cfgs.get("lstm_h") or compose(model_overrides(args, "lstm_h", device), workdir)
        say("lstm_h FLOP/s and the device's ceiling")
        results.update(measure_limit(args, lstm_cfg, datamodule, batches, device))
        phases["flops"], mark = time.perf_counter() - mark, time.perf_counter()
        mark_narrow_intervals(results, args.ci_width)
        if not args.skip_startup:
            say("python -m src.train start-up")
            results.update(measure_startup(args, device, workdir))
            phases["startup"] = time.perf_counter() - mark
        results["phase_seconds"] = phases
    results["targets_met"] = check_targets(results)
    results["bench_seconds"] = time.perf_counter() - began
    results = finite(results)
    write_json_atomic(args.out, results)
    return results


RUN_SUMMARY_KEYS = ("avg_ch_over_lstm_hc", "lightning_over_plain", "lstm_gflops", "limit_gflops", "lstm_over_limit")


def run_in_processes(argv: list[str], args: argparse.Namespace) -> dict:
    """``--runs N``: N whole benchmarks, one process each (--out.runK.json), then the median of each
    ratio over the runs with every run's value and interval beside it."""
    out = Path(args.out)
    runs = []
    for k in range(1, args.runs + 1):
        path = out.with_name(f"{out.stem}.run{k}{out.suffix}")
        say(f"run {k} of {args.runs} -> {path}")
        rest = [a for i, a in enumerate(argv) if a != "--runs" and (i == 0 or argv[i - 1] != "--runs")]
        rest = [a for a in rest if not a.startswith("--runs=")]
        subprocess.run([sys.executable, "-m", "src.bench", *rest, "--out", str(path)], cwd=REPO, check=True)
        runs.append(json.loads(path.read_text()))
    summary: dict = {"runs": [str(out.with_name(f"{out.stem}.run{k}{out.suffix}")) for k in range(1, args.runs + 1)]}
    for key in RUN_SUMMARY_KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            summary[key] = statistics.median(values)
            summary[f"{key}_per_run"] = values
            if all(r.get(f"{key}_ci95") for r in runs):
                summary[f"{key}_ci95_per_run"] = [r[f"{key}_ci95"] for r in runs]
            if any(f"{key}_ci95_narrow" in r for r in runs):
                summary[f"{key}_ci95_narrow_per_run"] = [r.get(f"{key}_ci95_narrow") for r in runs]
    summary["step_ms"] = {
        name: statistics.median(r["summarizers"][name]["step_ms"] for r in runs) for name in runs[0]["summarizers"]
    }
    summary["optimizer_share"] = {
        name: statistics.median(r["summarizers"][name]["optimizer_share"] for r in runs)
        for name in runs[0]["summarizers"]
    }
    summary["targets_met"] = check_targets(summary)
    summary["device"], summary["torch"] = runs[0]["device"], runs[0]["torch"]
    return finite(summary)


@user_errors
def main(argv: list[str] | None = None) -> None:
    from src.utils.io import write_json_atomic

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.runs > 1:
        summary = run_in_processes(argv, args)
        write_json_atomic(args.out, summary)
        for key in RUN_SUMMARY_KEYS:
            if key in summary:
                print(f"{key:<24}median {summary[key]:.3f}   runs {summary[f'{key}_per_run']}")
        print(f"\nwrote {args.out}")
        return
    results = run(args)
    print(format_table(results))
    print(f"\nwrote {args.out} ({results['bench_seconds']:.0f} s)")
