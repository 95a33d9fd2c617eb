"""Chaos: a small sweep killed again and again, at random moments and in every phase, ends with the
numbers of a sweep nobody touched.

``python -m tests.chaos --runs N [--kills K] [--seed S]`` runs the experiment N times and prints,
per run and in total, the kills survived and the differences found (exit status 1 if any);
``tests/test_chaos.py`` runs it once. One run:

1. the sweep (3 summarizers x 2 seeds, 3 epochs of the built-in data, ``logger=none``, the basic
   launcher) runs uninterrupted into a reference dir;
2. the same sweep, with ``ckpt_path=last``, is started into a second dir and killed K times, each
   time with SIGKILL or SIGTERM (drawn), then rerun with the very same command until it completes.
   Each kill aims at a phase: data preparation, the middle of a training epoch, a checkpoint
   being written (its temporary file written, not yet fsynced and renamed), the test loop, or a
   random moment. To hit a phase, :class:`Pauses` (a Hydra callback the command carries; it only
   sleeps, so no number changes) marks the moment the phase is entered in a file and holds it for
   a moment; the killer waits for the mark and kills at a random instant inside the hold;
3. the killed sweep's ``results.csv`` must equal the reference's in every metric, exactly (CPU,
   one thread), each job listed once and ``ok``, and no temporary file (``*.tmp``) left anywhere.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hydra.experimental.callback import Callback

REPO = Path(__file__).resolve().parents[1]
PHASES = ("prepare", "mid_epoch", "checkpoint", "test")
PLAN = ("checkpoint", "mid_epoch", "random", "prepare", "test")  # the training phases first: they run out
PHASE_ENV, MARKS_ENV = "SEQ2VEC_CHAOS_PHASE", "SEQ2VEC_CHAOS_MARKS"
SWEEP = [
    "summarizer=mean,max,rnn",
    "seed=0,1",
    "logger=none",
    "threads=1",
    "data.source.n_train=192",
    "data.source.n_validation=64",
    "data.source.n_test=64",
    "model.embedding.dim=16",
    "model.head.width=16",
    "trainer.max_epochs=3",
    "~callbacks.progress_bar",
]  # 3 training steps an epoch; one test batch
JOBS = [f"{n}_{s}" for n, s in enumerate(s for s in ("mean", "max", "rnn") for _seed in range(2))]
# What results.csv must agree on: all but times, speeds and paths.
COMPARED = ("job", "summarizer", "seed", "data", "status", "epochs", "params", "val/acc_best")  # and every test/*


# --------------------------------------------------------------------------- inside the sweep
class Pauses(Callback):
    """Hydra callback (``+hydra.callbacks.chaos._target_=tests.chaos.Pauses``): while the
    environment names a phase, each time a job enters it, append ``<job> <phase>`` to the marks
    file and sleep ``seconds``, so that a kill can land inside the phase."""

    installed = False

    def __init__(self, seconds: float = 0.6):
        self.seconds = float(seconds)

    def on_job_start(self, config, **kwargs) -> None:
        phase, marks = os.environ.get(PHASE_ENV), os.environ.get(MARKS_ENV)
        if phase in PHASES and marks and not Pauses.installed:
            Pauses.installed = True
            _hold(phase, Path(marks), self.seconds)


def _hold(phase: str, marks: Path, seconds: float) -> None:
    from hydra.core.hydra_config import HydraConfig

    def pause() -> None:
        with open(marks, "a") as f:
            f.write(f"{HydraConfig.get().job.num} {phase}\n")
        time.sleep(seconds)

    if phase == "prepare":  # while the source is read, in the middle of the data module's setup
        from src.data.datamodule import TextDataModule

        setup = TextDataModule.setup

        def held_setup(self, *args, **kwargs):
            source = self.source
            self.source = lambda: (pause(), source())[1]
            try:
                return setup(self, *args, **kwargs)
            finally:
                self.source = source

        TextDataModule.setup = held_setup
    elif phase == "mid_epoch":  # after the first of the epoch's three steps
        from src.model.module import SentenceClassifier

        wrap(SentenceClassifier, "training_step", lambda self, batch, batch_idx: batch_idx == 1, pause)
    elif phase == "test":
        from src.model.module import SentenceClassifier

        wrap(SentenceClassifier, "test_step", lambda self, batch, batch_idx: batch_idx == 0, pause)
    else:  # the checkpoint's bytes are in its temporary file; fsync and the rename are still to come
        fsync = os.fsync

        def held_fsync(fd: int) -> None:
            name = os.readlink(f"/proc/self/fd/{fd}")
            if ".ckpt." in name and name.endswith(".tmp"):
                pause()
            fsync(fd)

        os.fsync = held_fsync


def wrap(owner: type, name: str, when, pause) -> None:
    original = getattr(owner, name)

    def held(*args, **kwargs):
        if when(*args, **kwargs):
            pause()
        return original(*args, **kwargs)

    setattr(owner, name, held)


# --------------------------------------------------------------------------- the killer
@dataclass
class Outcome:
    """One run of the experiment: the kills that landed (phase, signal), and every difference."""

    kills: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0
    differences: list[str] = field(default_factory=list)


def command(sweep_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "src.train", "-m", *SWEEP, *extra, f"hydra.sweep.dir={sweep_dir}"]


def environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (PHASE_ENV, MARKS_ENV)}
    return {**env, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true", **extra}


def reference(sweep_dir: Path, log: Path) -> float:
    """The uninterrupted sweep; returns its wall time (to draw the random kills' moments from)."""
    start = time.monotonic()
    with open(log, "a") as f:
        proc = subprocess.run(command(sweep_dir), cwd=REPO, env=environment(), stdout=f, stderr=f, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"the reference sweep failed (exit status {proc.returncode}); see {log}")
    return time.monotonic() - start


def attempt(sweep_dir: Path, log: Path, target: str | None, signum, rng: random.Random, span: float, hold: float):
    """Start the sweep (``ckpt_path=last``); send ``signum`` in ``target`` (a phase, ``random``, or
    None: let it finish). Returns (exit status, the signal's name if it landed before the sweep ended)."""
    marks = sweep_dir.parent / f"{sweep_dir.name}.marks"
    marks.unlink(missing_ok=True)
    env = environment(**({PHASE_ENV: target, MARKS_ENV: str(marks)} if target in PHASES else {}))
    cmd = command(sweep_dir, "ckpt_path=last", "+hydra.callbacks.chaos._target_=tests.chaos.Pauses")
    with open(log, "a") as f:
        f.write(f"\n===== attempt: target {target}, signal {signum.name if target else None}\n")
        f.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=f, stderr=f)
        deadline = time.monotonic() + 900
        if target == "random":
            at = time.monotonic() + rng.uniform(0.5, span)
            while proc.poll() is None and time.monotonic() < at:
                time.sleep(0.01)
        elif target is not None:  # the first mark of the phase, then a moment inside its hold
            while (
                proc.poll() is None and not (marks.is_file() and marks.stat().st_size) and time.monotonic() < deadline
            ):
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, hold - 0.1))
        landed = None
        if target is not None and proc.poll() is None:
            proc.send_signal(signum)
            landed = signum.name
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"the sweep hung (target {target}); see {log}") from None
    return proc.returncode, landed


def run_once(workdir: Path, kills: int = 5, seed: int = 0, hold: float = 0.6) -> Outcome:
    """One run of the experiment in ``workdir`` (see the module doc)."""
    rng, outcome = random.Random(seed), Outcome()
    log = workdir / "chaos.log"
    span = reference(workdir / "reference", log)
    killed = workdir / "killed"
    plan = [PLAN[i % len(PLAN)] for i in range(kills)]
    # as many of each signal, in a drawn order; the first checkpoint kill is a SIGKILL (a SIGTERM
    # lets the write finish, so only SIGKILL can leave half a checkpoint or its temporary file)
    signals = [signal.SIGKILL, signal.SIGTERM] * (kills // 2 + 1)
    rng.shuffle(signals)
    signals.append(signal.SIGKILL)
    while True:
        target = plan.pop(0) if plan else None
        status, landed = attempt(killed, log, target, signals.pop(), rng, span, hold)
        outcome.attempts += 1
        if landed is not None and status != 0:
            outcome.kills.append((target, landed))
        elif target is None or status != 0:
            if status != 0:
                outcome.differences.append(f"an attempt ended with exit status {status} without being killed")
            if target is None:
                break
        if outcome.attempts > kills + 5:
            outcome.differences.append("the sweep did not complete")
            break
    outcome.differences += compare(workdir / "reference", killed)
    return outcome


def compare(reference_dir: Path, killed_dir: Path) -> list[str]:
    """Every way the killed sweep's results differ from the reference's, as lines."""
    import pandas as pd

    differences = []
    if not (killed_dir / "results.csv").is_file():
        return ["the killed sweep wrote no results.csv"]
    want = pd.read_csv(reference_dir / "results.csv", dtype=str, keep_default_na=False)
    got = pd.read_csv(killed_dir / "results.csv", dtype=str, keep_default_na=False)
    columns = [c for c in want.columns if (c in COMPARED or c.startswith("test/")) and c != "job"]
    if got["job"].tolist() != JOBS:
        differences.append(f"jobs {got['job'].tolist()}, expected each of {JOBS} once")
    if set(got["status"]) != {"ok"}:
        differences.append(f"statuses {got['status'].tolist()}")
    got = got.drop_duplicates("job").set_index("job").reindex(want["job"]).fillna("(missing)")
    want = want.set_index("job")
    for column in columns:
        if column not in got:
            differences.append(f"results.csv has no column {column}")
        elif got[column].tolist() != want[column].tolist():
            differences.append(f"{column}: {got[column].tolist()} != {want[column].tolist()} (uninterrupted)")
    names = [[Path(p).name for p in frame["best_checkpoint"]] for frame in (got, want)]
    if names[0] != names[1]:
        differences.append(f"best checkpoints {names[0]} != {names[1]} (uninterrupted)")
    for job in JOBS:  # and every test prediction
        ours, theirs = (d / job / "predictions.csv" for d in (killed_dir, reference_dir))
        if not ours.is_file() or ours.read_bytes() != theirs.read_bytes():
            differences.append(f"{job}/predictions.csv differs from the uninterrupted run's")
    leftovers = sorted(str(p.relative_to(killed_dir)) for p in killed_dir.rglob("*") if p.name.endswith(".tmp"))
    if leftovers:
        differences.append(f"temporary files left: {', '.join(leftovers)}")
    return differences


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the experiment (default 3)")
    parser.add_argument("--kills", type=int, default=5, help="kills per run (default 5: every phase and a random one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first run's draws (run i: seed + i)")
    parser.add_argument("--out", type=Path, default=None, help="keep the sweeps here (default: a temporary folder)")
    args = parser.parse_args(argv)
    total_kills, total_differences = 0, 0
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        root = args.out or Path(tmp)
        for run in range(args.runs):
            workdir = root / f"run{run}"
            workdir.mkdir(parents=True, exist_ok=True)
            outcome = run_once(workdir, args.kills, args.seed + run)
            total_kills += len(outcome.kills)
            total_differences += len(outcome.differences)
            kills = ", ".join(f"{phase}/{name}" for phase, name in outcome.kills)
            print(
                f"run {run}: {len(outcome.kills)} kills survived ({kills}) in {outcome.attempts} attempts; "
                f"{len(outcome.differences)} differences",
                flush=True,
            )
            for line in outcome.differences:
                print(f"  {line}", flush=True)
    print(f"total: {total_kills} kills survived in {args.runs} runs; {total_differences} differences found")
    return 1 if total_differences else 0


if __name__ == "__main__":
    sys.exit(main())
