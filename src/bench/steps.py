"""Speed benchmark: ``python -m src.bench [--device cuda] [--precision bf16] [--out bench.json]``.

Measures, in one process on one device, what a sweep pays for (issue 5, docs/performance.md):

* ``summarizers.<name>.step_ms`` / ``.tokens_per_s``: a full training step (forward, backward,
  gradient clipping, optimizer; ``.optimizer_ms`` and ``.optimizer_share``: the optimizer's step
  alone, timed in extra rounds) of the real model (``SentenceClassifier`` from the Hydra configs,
  embedding 300, hidden 256, batch 64) on real bucketed training batches (MR from
  ``../shared/data/mr`` when present, else the default dataset). The models take turns round by
  round, so slow drift on a shared machine hits all of them alike; the median round counts.
* ``avg_ch_over_lstm_hc``: the median of the two step times' ratios round by round, with the 95%
  interval of their mean (``_ci95``); the two take more rounds until it is ``--ci-width`` wide.
* ``lightning_over_plain``: one training epoch through Lightning's ``Trainer``, configured as
  ``python -m src.train`` configures it (callbacks, logger, progress bar, clipping, determinism),
  over a hand-written loop doing the same work (same model, optimizer, ``training_step`` and
  batches) in the same process. Both are timed from the epoch's start to its last training batch,
  as ``TrainThroughput`` does; validation and checkpoints come after that and are not counted.
  The loops alternate, each pair of epochs gives one ratio: the median, and the interval as above.
* ``padding_efficiency_bucketed`` / ``_random``: real tokens / padded slots over one epoch of
  training batches with and without length bucketing.
* ``lstm_gflops``: matmul FLOPs of the ``lstm_h`` summarizer's forward + backward on the same
  batches (padded slots included, as the kernel computes them) per second of its best round;
  ``limit_gflops``: the device's ceiling (``src/bench/ceiling.py``: the best of several routes to
  the same FLOPs, and the CPU's FMA peak), ``limit_source`` what bounds it, ``lstm_over_limit``.
* ``train_startup_s``: ``python -m src.train`` from process start to its first training step
  (cached data), plus ``import_s``: how much of it is importing.

``--runs 3`` runs the whole benchmark three times, each in its own process, and writes each
ratio's median over the runs (the README's table). Extra Hydra overrides go at the end, e.g.
``python -m src.bench logger=wandb``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from lightning import Callback

from src.bench.ceiling import ceiling
from src.summarizers.base import ConfigError
from src.summarizers.registry import default_options, summarizer_names
from src.utils.cli import user_errors

REPO = Path(__file__).resolve().parents[2]
CONF_DIR = REPO / "conf"
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "mr"
SUMMARIZERS = tuple(summarizer_names())
TARGETS = {  # issues 5 and 15, as ratios on the 2-core CPU they were written for
    "avg_ch_over_lstm_hc": ("<=", 1.15),
    "lightning_over_plain": ("<=", 1.05),
    "padding_efficiency_bucketed": (">=", 0.90),
    "lstm_over_limit": ("<=", 1.0),  # the limit is a limit (src/bench/ceiling.py)
    "train_startup_s": ("<=", 10.0),
}
RATIO_PAIRS = {"avg_ch_over_lstm_hc": ("avg_ch", "lstm_hc")}
_FIRST_STEP_FILE = "SEQ2VEC_BENCH_FIRST_STEP_FILE"
_START_TIME = "SEQ2VEC_BENCH_START_TIME"


# --------------------------------------------------------------------------- configuration
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


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda, but torch.cuda.is_available() is False")
    return device


def data_overrides(data_dir: str | None) -> tuple[list[str], str]:
    """Overrides selecting the benchmark's data, and where it comes from."""
    if data_dir == "none":
        return [], "the default data config"
    folder = Path(data_dir).expanduser() if data_dir else DEFAULT_DATA_DIR
    if data_dir and not folder.is_dir():
        raise ConfigError(f"--data-dir: no such folder: {folder}")
    if folder.is_dir() and (CONF_DIR / "data" / "files.yaml").is_file():
        return ["data=files", f"data.data_dir={folder}"], str(folder)
    return [], "the default data config"


def model_overrides(args: argparse.Namespace, summarizer: str, device: torch.device) -> list[str]:
    out = [
        f"summarizer={summarizer}",
        f"model.embedding.dim={args.embedding_dim}",
        f"data.batch_size={args.batch_size}",
        "logger=none",
    ]
    if "hidden_size" in default_options(summarizer):
        out.append(f"summarizer.hidden_size={args.hidden_size}")
    if device.type == "cuda":
        out += ["trainer=gpu", f"trainer.devices=[{device.index or 0}]"]
    if args.precision == "bf16":
        out.append("trainer.precision=bf16-mixed")
    return out + list(args.data) + list(args.overrides)


def compose(overrides: list[str], output_dir: Path):
    """The config ``python -m src.train <overrides>`` would run with (Hydra node set, so
    ``${hydra:...}`` resolves)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    import src.utils.resolvers  # noqa: F401

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR), job_name="bench"):
        cfg = hydra_compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


# --------------------------------------------------------------------------- timing helpers
def say(message: str) -> None:
    """Progress, on stderr (the table and the JSON are the results)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def build_model(cfg, datamodule, device: torch.device):
    """The training script's model (same seed, same init) and its optimizer."""
    import lightning as L

    from src.model.module import build_model as build_classifier

    L.seed_everything(cfg.seed, verbose=False)
    model = build_classifier(cfg, datamodule).to(device)
    model.train()
    optimizer = model.configure_optimizers()
    if isinstance(optimizer, dict):
        optimizer = optimizer["optimizer"]
    return model, optimizer


def make_step(
    model, optimizer, clip: float | None, device: torch.device, precision: str, optimizer_seconds: list | None = None
) -> Callable[[dict], None]:
    """One training step as Lightning runs it: zero grads, forward + loss, backward, clip, step.
    With ``optimizer_seconds``, the optimizer's step is timed on its own (synchronised) into it."""
    params = [p for p in model.parameters() if p.requires_grad]

    def step(batch: dict) -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            loss = F.cross_entropy(model(batch["input_ids"], batch["lengths"]), batch["label"])
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params, clip)
        if optimizer_seconds is None:
            optimizer.step()
            return
        synchronize(device)
        start = time.perf_counter()
        optimizer.step()
        synchronize(device)
        optimizer_seconds.append(time.perf_counter() - start)

    return step


def timed_round(step: Callable[[dict], None], batches: list[dict], device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    synchronize(device)
    return time.perf_counter() - start


def lstm_matmul_flops(batches: Iterable[dict], input_dim: int, hidden: int) -> float:
    """Matmul FLOPs of one LSTM layer's forward + backward over these padded batches: forward
    2*B*T*4H*(E+H) (input and recurrent products), backward twice that (input/state gradients and
    weight gradients)."""
    slots = sum(b["input_ids"].numel() for b in batches)
    return 3 * 2 * slots * 4 * hidden * (input_dim + hidden)


def paired_ratio(numerator: list[float], denominator: list[float]) -> dict:
    """A ratio of two timings taken in pairs (the same round or repeat, so drift hits both): the
    median of the paired ratios, and the 95% t-interval of their mean over the pairs."""
    from scipy import stats

    ratios = np.asarray(numerator) / np.asarray(denominator)
    n = len(ratios)
    if n < 2:
        return {"ratio": float(ratios[0]), "ci95": None, "pairs": n}
    half = stats.t.ppf(0.975, n - 1) * ratios.std(ddof=1) / math.sqrt(n)
    return {
        "ratio": float(np.median(ratios)),
        "ci95": [float(ratios.mean() - half), float(ratios.mean() + half)],
        "pairs": n,
    }


def ci_width(ratio: dict) -> float:
    return math.inf if ratio["ci95"] is None else ratio["ci95"][1] - ratio["ci95"][0]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"cpu: {cpu or 'unknown'} ({torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()})"


# --------------------------------------------------------------------------- measurements
def measure_summarizers(args, datamodule, device, workdir: Path) -> tuple[dict, dict, list[dict]]:
    """Step time of every summarizer's full model on the same training batches, models taking
    turns round by round (with the order rotated) so that drift on a shared machine evens out.
    The two models of a ratio (``RATIO_PAIRS``) then take more turns, up to ``--max-rounds``, until
    the ratio's 95% interval is ``--ci-width`` wide; last, a few rounds time the optimizer's step
    on its own."""
    loader = datamodule.train_dataloader()
    batches = []
    for batch in loader:
        batches.append(to_device(batch, device))
        if len(batches) == args.batches:
            break
    tokens = sum(int(b["lengths"].sum()) for b in batches)
    steps, models, cfgs = {}, {}, {}
    for name in args.summarizers:
        cfg = compose(model_overrides(args, name, device), workdir)
        model, optimizer = build_model(cfg, datamodule, device)
        clip = cfg.trainer.get("gradient_clip_val")
        steps[name] = make_step(model, optimizer, clip, device, args.precision)
        models[name], cfgs[name] = (model, optimizer, clip), cfg
    for _ in range(args.warmup):
        for name in args.summarizers:
            timed_round(steps[name], batches, device)
    seconds = {name: [] for name in args.summarizers}
    for r in range(args.rounds):
        shift = r % len(args.summarizers)
        for name in args.summarizers[shift:] + args.summarizers[:shift]:
            seconds[name].append(timed_round(steps[name], batches, device))
    ratios = {}
    for key, pair in RATIO_PAIRS.items():
        if not set(pair) <= set(args.summarizers):
            continue
        ratio = paired_ratio(*(seconds[name] for name in pair))
        while ci_width(ratio) > args.ci_width and ratio["pairs"] < args.max_rounds:
            for name in pair if ratio["pairs"] % 2 else pair[::-1]:
                seconds[name].append(timed_round(steps[name], batches, device))
            ratio = paired_ratio(*(seconds[name][: min(map(len, (seconds[n] for n in pair)))] for name in pair))
        ratios[key] = ratio
    results = {}
    for name, values in seconds.items():
        median = statistics.median(values)
        optimizer_seconds: list[float] = []
        model, optimizer, clip = models[name]
        timed = make_step(model, optimizer, clip, device, args.precision, optimizer_seconds)
        for _ in range(3):
            timed_round(timed, batches, device)
        optimizer_ms = 1e3 * statistics.median(optimizer_seconds)
        results[name] = {
            "step_ms": 1e3 * median / len(batches),
            "tokens_per_s": tokens / median,
            "optimizer_ms": optimizer_ms,
            "optimizer_share": optimizer_ms / (1e3 * median / len(batches)),
            "rounds_ms": [1e3 * v / len(batches) for v in values],
        }
    return results, cfgs, batches, ratios


def measure_lstm_gflops(args, cfg, datamodule, batches: list[dict], device) -> float:
    """Achieved matmul FLOP/s of the lstm_h summarizer's forward + backward in training (the
    embedding's output as input, gradients for it and the weights), on the same batches; the best
    round, as the ceiling's routes are timed (src/bench/ceiling.py)."""
    model, _ = build_model(cfg, datamodule, device)
    summarizer = model.summarizer
    inputs = []
    with torch.no_grad():
        for batch in batches:
            inputs.append((model.embedding(batch["input_ids"]), batch["lengths"]))

    def step(item) -> None:
        x, lengths = item
        x = x.detach().requires_grad_(True)
        with autocast(device, args.precision):
            out = summarizer(x, lengths)
        out.float().sum().backward()

    for _ in range(max(1, args.warmup)):
        timed_round(step, inputs, device)
    seconds = min(timed_round(step, inputs, device) for _ in range(args.rounds))
    flops = lstm_matmul_flops(batches, summarizer.input_dim, summarizer.hidden_size)
    return flops / seconds / 1e9


def lstm_gemm_shapes(batches: list[dict], input_dim: int, hidden: int) -> dict[str, tuple[int, int, int]]:
    """The LSTM's own matrix products at these batches' mean padded size, as (rows, in, out): the
    input projection over every step, one step's gates (input and state together), and the weight
    gradient of the input projection."""
    b = round(statistics.mean(x["input_ids"].shape[0] for x in batches))
    t = round(statistics.mean(x["input_ids"].shape[1] for x in batches))
    return {
        "input_projection": (b * t, input_dim, 4 * hidden),
        "step_gates": (b, input_dim + hidden, 4 * hidden),
        "weight_gradient": (4 * hidden, b * t, input_dim),
    }


class BatchClock(Callback):
    """When each training batch ends, from the epoch's start (as ``TrainThroughput`` times it)."""

    def __init__(self, device: torch.device):
        self.device, self.stamps = device, []

    def on_train_epoch_start(self, trainer, pl_module):
        synchronize(self.device)
        self.stamps = [time.perf_counter()]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        synchronize(self.device)
        self.stamps.append(time.perf_counter())


def lightning_epoch(cfg, datamodule, device, epoch_batches: int | None, extra_callbacks=()) -> list[float]:
    """One epoch of ``trainer.fit`` with the training script's trainer, callbacks and loggers;
    returns the seconds each training batch took (hooks, logging and data loading included)."""
    import hydra

    from src.utils.instantiate import instantiate_each

    model, _ = build_model(cfg, datamodule, device)
    clock = BatchClock(device)
    callbacks = instantiate_each(cfg.get("callbacks")) + list(extra_callbacks) + [clock]
    loggers = instantiate_each(cfg.get("logger"))
    extra = {"max_epochs": 1}
    if epoch_batches:
        extra["limit_train_batches"] = epoch_batches
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, datamodule=datamodule)
    return [b - a for a, b in zip(clock.stamps, clock.stamps[1:])]


def plain_epoch(cfg, datamodule, device, epoch_batches: int | None, precision: str) -> list[float]:
    """The same epoch by hand: same model and optimizer, the module's own ``training_step``
    (loss, metrics, the finiteness check), clipping and the same data loader and batches."""
    model, optimizer = build_model(cfg, datamodule, device)
    clip = cfg.trainer.get("gradient_clip_val")
    params = [p for p in model.parameters() if p.requires_grad]
    loader = datamodule.train_dataloader()
    loader.batch_sampler.set_epoch(0)
    synchronize(device)
    stamps = [time.perf_counter()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # self.log() without a Trainer is a no-op that warns
        for index, batch in enumerate(loader):
            if epoch_batches and index >= epoch_batches:
                break
            batch = to_device(batch, device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, precision):
                loss = model.training_step(batch, index)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(params, clip)
            optimizer.step()
            synchronize(device)
            stamps.append(time.perf_counter())
    return [b - a for a, b in zip(stamps, stamps[1:])]


def measure_lightning(args, datamodule, device, workdir: Path) -> dict:
    """Epochs of both loops, alternating, each pair giving one ratio; more pairs (up to
    ``--max-rounds``) until the ratio's 95% interval is ``--ci-width`` wide."""
    cfg = compose(model_overrides(args, args.lightning_summarizer, device), workdir)
    epochs = {"plain": [], "lightning": []}

    def ratio() -> dict:
        return paired_ratio(epochs["lightning"], epochs["plain"])

    while len(epochs["plain"]) < args.lightning_repeats or (
        ci_width(ratio()) > args.ci_width and len(epochs["plain"]) < args.max_rounds
    ):
        order = ("plain", "lightning") if len(epochs["plain"]) % 2 == 0 else ("lightning", "plain")
        for kind in order:
            if kind == "plain":
                batch_seconds = plain_epoch(cfg, datamodule, device, args.epoch_batches, args.precision)
            else:
                batch_seconds = lightning_epoch(cfg, datamodule, device, args.epoch_batches)
            epochs[kind].append(sum(batch_seconds))
    count = len(batch_seconds)
    result = ratio()
    return {
        "lightning_over_plain": result["ratio"],
        "lightning_over_plain_ci95": result["ci95"],
        "lightning_over_plain_pairs": result["pairs"],
        "lightning_epoch_s": statistics.median(epochs["lightning"]),
        "plain_epoch_s": statistics.median(epochs["plain"]),
        "lightning_epoch_batches": count,
    }


def padding_efficiencies(datamodule, batch_size: int) -> dict:
    from src.data.batching import BucketBatchSampler, padding_efficiency

    lengths = datamodule.splits["train"].lengths
    out = {}
    for key, bucketing in (("padding_efficiency_bucketed", True), ("padding_efficiency_random", False)):
        sampler = BucketBatchSampler(lengths, batch_size, shuffle=True, seed=datamodule.seed, bucketing=bucketing)
        out[key] = padding_efficiency(lengths, list(sampler))
    return out


class FirstStepTimer(Callback):
    """For ``train_startup_s``: when the first training batch starts, write the seconds since the
    benchmark launched the process, and end the process (nothing after that is measured)."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        elapsed = time.time() - float(os.environ[_START_TIME])
        Path(os.environ[_FIRST_STEP_FILE]).write_text(f"{elapsed:.3f}\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def measure_startup(args, device: torch.device, workdir: Path) -> dict:
    """``python -m src.train`` (lstm_hc, this benchmark's data; its cache is warm by now) from
    launch to its first training step, and a fresh interpreter's time to import what it imports."""
    overrides = model_overrides(args, "lstm_hc", device)
    marker = workdir / "first_step.txt"
    command = [
        sys.executable,
        "-m",
        "src.train",
        *overrides,
        "trainer.max_epochs=1",
        f"hydra.run.dir={workdir / 'startup'}",
        "+callbacks.bench_first_step._target_=src.bench.steps.FirstStepTimer",
    ]
    env = {**os.environ, _FIRST_STEP_FILE: str(marker), _START_TIME: repr(time.time())}
    subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    out = {"train_startup_s": float(marker.read_text()) if marker.is_file() else None}
    probe = (
        "import time; t = time.perf_counter(); import src.train, lightning, torch, hydra, "
        "src.model.module, src.data.datamodule; print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300)
    out["import_s"] = float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    return out


# --------------------------------------------------------------------------- report
def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None  # 6 significant digits
    return value


def check_targets(results: dict) -> dict:
    """{key: True/False} for each target that was measured."""
    met = {}
    for key, (op, bound) in TARGETS.items():
        if results.get(key) is not None:
            met[key] = results[key] <= bound if op == "<=" else results[key] >= bound
    return met


def mark_narrow_intervals(results: dict, width: float) -> None:
    """``<ratio>_ci95_narrow``: whether the rounds brought the ratio's 95% interval within ``width``
    (--ci-width) or --max-rounds stopped them first, so a wide interval is said, not left to be
    worked out from its bounds."""
    results["ci_width"] = width
    for key in [k for k in results if k.endswith("_ci95")]:  # every measured ratio has one (None: one pair)
        interval = results[key]
        results[f"{key}_narrow"] = bool(interval) and interval[1] - interval[0] <= width


def format_table(results: dict) -> str:
    lines = [
        f"device: {results['device']}   torch {results['torch']}   precision {results['precision']}",
        f"data: {results['data']}, {results['timed_batches']} training batches of {results['batch_size']} "
        f"(mean padded length {results['mean_padded_length']:.1f}), median of {results['rounds']} rounds",
        "",
        f"{'summarizer':<12}{'step_ms':>10}{'tokens_per_s':>14}{'optimizer_ms':>14}{'share':>8}",
    ]
    for name, row in results["summarizers"].items():
        lines.append(
            f"{name:<12}{row['step_ms']:>10.1f}{row['tokens_per_s']:>14.0f}"
            f"{row['optimizer_ms']:>14.1f}{100 * row['optimizer_share']:>7.0f}%"
        )
    lines.append("")
    targets = results.get("targets_met", {})
    shown = [
        "avg_ch_over_lstm_hc",
        "lightning_over_plain",
        "lightning_epoch_s",
        "plain_epoch_s",
        "padding_efficiency_bucketed",
        "padding_efficiency_random",
        "lstm_gflops",
        "limit_gflops",
        "lstm_over_limit",
        "train_startup_s",
        "import_s",
    ]
    for key in shown:
        value = results.get(key)
        if value is None:
            continue
        note = ""
        if results.get(f"{key}_ci95"):
            low, high = results[f"{key}_ci95"]
            note += f"  95% CI [{low:.3f}, {high:.3f}] over {results[f'{key}_pairs']} pairs"
        if results.get(f"{key}_ci95_narrow") is False:
            note += f" (wider than the {results['ci_width']} asked for: --max-rounds reached)"
        if key == "limit_gflops":
            note += f"  bounded by {results['limit_source']}"
        if key in TARGETS:
            op, bound = TARGETS[key]
            note += f"  target {op} {bound}: {'met' if targets.get(key) else 'MISSED'}"
        lines.append(f"{key:<30}{value:>10.3f}{note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    from src.utils.cpu import configure_cpu
    from src.utils.io import write_json_atomic

    configure_cpu({"threads": args.threads})  # as the training script's processes
    device = resolve_device(args.device)
    if args.precision == "bf16" and device.type != "cuda":
        raise ConfigError("--precision bf16 needs a CUDA device (oneDNN's CPU LSTM has no bf16 kernel on most CPUs)")
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
        summarizers, cfgs, batches, ratios = measure_summarizers(args, datamodule, device, workdir)
        phases["summarizers"], mark = time.perf_counter() - mark, time.perf_counter()
        results.update(
            summarizers={k: {key: v[key] for key in v if key != "rounds_ms"} for k, v in summarizers.items()},
            step_ms_per_round={k: v["rounds_ms"] for k, v in summarizers.items()},
            timed_batches=len(batches),
            timed_tokens=sum(int(b["lengths"].sum()) for b in batches),
            rounds=args.rounds,
            mean_padded_length=statistics.mean(b["input_ids"].shape[1] for b in batches),
        )
        for key, ratio in ratios.items():
            results.update({key: ratio["ratio"], f"{key}_ci95": ratio["ci95"], f"{key}_pairs": ratio["pairs"]})
        if not args.skip_lightning:
            say(f"Lightning vs a plain loop: {args.lightning_repeats} epoch(s) each of {args.lightning_summarizer}")
            results.update(measure_lightning(args, datamodule, device, workdir))
            phases["lightning"], mark = time.perf_counter() - mark, time.perf_counter()
        results.update(padding_efficiencies(datamodule, args.batch_size))
        lstm_cfg = cfgs.get("lstm_h") or compose(model_overrides(args, "lstm_h", device), workdir)
        say("lstm_h FLOP/s and the device's ceiling")
        results["lstm_gflops"] = measure_lstm_gflops(args, lstm_cfg, datamodule, batches, device)
        hidden = lstm_cfg.summarizer.hidden_size
        dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
        limit = ceiling(device, dtype, lstm_gemm_shapes(batches, args.embedding_dim, hidden))
        results.update(limit)
        results["lstm_over_limit"] = results["lstm_gflops"] / limit["limit_gflops"]
        phases["flops"], mark = time.perf_counter() - mark, time.perf_counter()
        mark_narrow_intervals(results, args.ci_width)
        if not args.skip_startup:
            say("python -m src.train start-up")
            results.update(measure_startup(args, device, workdir))
            phases["startup"] = time.perf_counter() - mark
        results["phase_seconds"] = phases
    results["targets_met"] = check_targets(results)
    results["bench_seconds"] = time.perf_counter() - began
    results = _finite(results)
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
    return _finite(summary)


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
