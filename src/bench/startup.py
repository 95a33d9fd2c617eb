"""``train_startup_s``: ``python -m src.train`` from process start to its first training step, and
``import_s``: how much of it is importing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from lightning import Callback

from src.bench.config import REPO, model_overrides

_FIRST_STEP_FILE = "SEQ2VEC_BENCH_FIRST_STEP_FILE"
_START_TIME = "SEQ2VEC_BENCH_START_TIME"


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
        "+callbacks.bench_first_step._target_=src.bench.startup.FirstStepTimer",
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
