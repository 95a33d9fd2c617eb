"""Faults during a run: a full disk or read-only folder while writing, Ctrl-C, SIGTERM, SLURM requeue.

Writes are injected with failures (``os.fsync``, ``os.replace``, ``tempfile.mkstemp`` or a file
whose ``write`` runs out of room); signals are real signals sent to a real training process,
either from the test or, where the moment must be exact, from a callback inside the run.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from lightning import Callback
from omegaconf import open_dict

from src.checkpointing import AtomicCheckpointIO
from src.utils.errors import RunInterrupted, UserError, WriteError
from src.utils.io import atomic_write, write_json_atomic
from tests.helpers import REPO, RUN_METRICS, SMALL_LSTM, compose_train_config

SMALL = [
    *SMALL_LSTM,
    "data.source.n_train=256",
    "data.source.n_validation=64",
    "data.source.n_test=64",
    "trainer.max_epochs=3",
    "seed=5",
]  # 4 training steps per epoch
METRICS = RUN_METRICS


def train_here(overrides: list[str], out: Path) -> dict:
    """``python -m src.train <overrides> hydra.run.dir=<out>``, in this process."""
    from src.train import train

    cfg = compose_train_config(list(overrides), out)
    with open_dict(cfg):
        del cfg["hydra"]
    return train(cfg)


# --------------------------------------------------------------------------- full disk, read-only folder
class _FullFile:
    """A file that takes ``room`` more bytes, then fails as a full disk does."""

    def __init__(self, f, room: int):
        self._f, self._room = f, room

    def write(self, data):
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)


def inject(monkeypatch, where: str) -> None:
    """Make the next atomic write fail at ``where``."""
    if where == "write":  # the disk fills up part-way through the data
        fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FullFile(fdopen(fd, *a, **k), room=10))
    elif where == "fsync":  # network file systems report a full disk when the data is flushed
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, os.strerror(28))))
    elif where == "rename":
        monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(errno.EROFS, os.strerror(30))))
    elif where == "read_only":  # a read-only folder: not even the temp file can be created
        monkeypatch.setattr(
            tempfile, "mkstemp", lambda **k: (_ for _ in ()).throw(PermissionError(errno.EACCES, os.strerror(13)))
        )


def write_results(path: Path, version: int) -> None:
    write_json_atomic(path, {"version": version, "status": "ok"})


def write_checkpoint(path: Path, version: int) -> None:
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.full((1000,), float(version))}, "v": version}, path)


def write_predictions(path: Path, version: int) -> None:
    import pandas as pd

    with atomic_write(path, "w") as f:  # as src.train writes predictions.csv
        pd.DataFrame({"index": range(100), "pred": [version] * 100}).to_csv(f, index=False)


def write_jsonl(path: Path, version: int) -> None:
    from src.predict import write_jsonl as write

    with atomic_write(path, "w") as f:  # as src.predict writes output=FILE
        write([{"line": i, "label": version} for i in range(100)], f)


def read_back(path: Path):
    if path.suffix == ".ckpt":
        return torch.load(path, weights_only=True)["v"]
    text = path.read_text()
    return json.loads(text)["version"] if path.suffix == ".json" else text.splitlines()[-1]


WRITERS = {
    "results.json": write_results,
    "last.ckpt": write_checkpoint,
    "predictions.csv": write_predictions,
    "out.jsonl": write_jsonl,
}


@pytest.mark.parametrize("where", ["write", "fsync", "rename", "read_only"])
@pytest.mark.parametrize("name", list(WRITERS))
def test_a_failed_write_keeps_the_previous_file_whole_and_says_which_path(tmp_path, monkeypatch, name, where):
    path = tmp_path / name
    WRITERS[name](path, 1)
    before = read_back(path)
    with monkeypatch.context() as patch:
        inject(patch, where)
        with pytest.raises(WriteError) as error:
            WRITERS[name](path, 2)
    message = str(error.value)
    reason = {
        "write": "No space left on device",
        "fsync": "No space left on device",
        "rename": "Read-only file system",
        "read_only": "Permission denied",
    }[where]
    assert message == f"cannot write {path}: {reason}"
    assert isinstance(error.value, UserError) and isinstance(error.value, OSError)
    assert read_back(path) == before  # the previous file, complete
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


@pytest.mark.slow
def test_a_full_disk_while_training_is_one_line_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    """The disk fills up when epoch 1's last.ckpt is written: exit status 2 with a line naming the
    file; last.ckpt stays epoch 0's, whole; no temp file, no results.json."""
    from src.utils.cli import user_errors

    fsync, seen = os.fsync, []

    def full_at_second_last_ckpt(fd):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if ".last.ckpt." in name:
            seen.append(name)
            if len(seen) == 3:  # 1: at the start, 2: after epoch 0, 3: after epoch 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return fsync(fd)

    monkeypatch.setattr(os, "fsync", full_at_second_last_ckpt)
    with pytest.raises(SystemExit) as exit_:
        user_errors(lambda: train_here(SMALL, tmp_path))()
    assert exit_.value.code == 2
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert capsys.readouterr().err.splitlines()[-1] == f"error: cannot write {last}: No space left on device"
    assert torch.load(last, weights_only=True)["global_step"] == 4  # epoch 0's
    assert sorted(p.name for p in last.parent.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    assert not (tmp_path / "results.json").exists()


def test_a_written_file_is_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        write_predictions(tmp_path / "predictions.csv", 1)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "predictions.csv").stat().st_mode) == 0o644


# --------------------------------------------------------------------------- signals
class SignalAt(Callback):
    """Test helper: the run sends itself ``signum`` at the end of global step ``step``."""

    def __init__(self, signum: int, step: int, then: int | None = None, then_step: int | None = None):
        self.plan = {int(step): int(signum)}
        if then is not None:
            self.plan[int(then_step)] = int(then)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        signum = self.plan.pop(trainer.global_step, None)
        if signum is not None:
            os.kill(os.getpid(), signum)


def signal_at(signum: int, step: int) -> list[str]:
    target = f"{SignalAt.__module__}.SignalAt"
    return [
        f"+callbacks.signal._target_={target}",
        f"+callbacks.signal.signum={int(signum)}",
        f"+callbacks.signal.step={step}",
    ]


def env() -> dict:
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(torch.get_num_threads()),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted run every interrupted one must equal once resumed."""
    return train_here(SMALL, tmp_path_factory.mktemp("reference"))


def resume_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("interrupted: ")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


class Slow(Callback):
    """Test helper: each training step takes ``seconds`` longer (the numbers do not change), so a
    signal sent from outside lands in a known epoch."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        time.sleep(self.seconds)


@pytest.mark.slow
def test_sigterm_mid_epoch_resumes_to_the_uninterrupted_runs_metrics(tmp_path, reference):
    """SIGTERM (preemption) from outside, in the middle of epoch 1: exit status 143, a line with the
    ``ckpt_path=.../last.ckpt`` to resume from, results.json ``interrupted`` and no metrics; resumed
    from it, the run ends with exactly the uninterrupted run's metrics."""
    out = tmp_path / "run"
    slow = [f"+callbacks.slow._target_={Slow.__module__}.Slow", "+callbacks.slow.seconds=0.4"]
    cmd = [sys.executable, "-m", "src.train", *SMALL, *slow, f"hydra.run.dir={out}"]
    with open(tmp_path / "run.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 600
        while proc.poll() is None and not (out / "checkpoints" / "epoch_000.ckpt").exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)  # epoch 0 has ended; epoch 1 takes 4 x 0.4 s
        proc.wait(timeout=300)
    stderr = (tmp_path / "run.log").read_text()
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    last = out / "checkpoints" / "last.ckpt"
    line = resume_line(stderr)
    assert line.startswith("interrupted: SIGTERM at epoch 1, step ") and line.endswith(f"ckpt_path={last}")
    assert f"{last} holds step 4; resume with: python -m src.train " in line
    results = json.loads((out / "results.json").read_text())
    assert {k: results[k] for k in ("status", "signal", "epoch", "resume_from")} == {
        "status": "interrupted",
        "signal": "SIGTERM",
        "epoch": 1,
        "resume_from": str(last),
    }
    assert 4 <= results["global_step"] <= 8 and "test/acc" not in results
    assert torch.load(last, weights_only=True)["global_step"] == 4  # epoch 0's end: nothing half-done

    resumed = train_here([*SMALL, f"ckpt_path={last}"], tmp_path / "resumed")
    assert {k: resumed[k] for k in METRICS} == {k: reference[k] for k in METRICS}


@pytest.mark.slow
def test_ctrl_c_in_the_first_epoch_stops_records_and_resumes_exactly(tmp_path, reference):
    """Ctrl-C at step 2 of epoch 0 (a real SIGINT to a real process): exit status 130, results.json
    ``status: interrupted``, the W&B run finished with 130, last.ckpt the state training started
    from; resumed from it, the run equals the uninterrupted one."""
    from tests.test_wandb import read_offline_run

    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "src.train",
        *SMALL,
        "logger=wandb",
        *signal_at(signal.SIGINT, 2),
        f"hydra.run.dir={out}",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    last = out / "checkpoints" / "last.ckpt"
    line = resume_line(proc.stderr)
    assert line.startswith("interrupted: Ctrl-C (SIGINT) at epoch 0, step 2; ")
    assert f"{last} holds step 0; resume with: python -m src.train " in line and line.endswith(f"ckpt_path={last}")
    results = json.loads((out / "results.json").read_text())
    assert {k: results[k] for k in ("status", "signal", "epoch", "global_step")} == {
        "status": "interrupted",
        "signal": "SIGINT",
        "epoch": 0,
        "global_step": 2,
    }
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    assert read_offline_run(run_dir)["exit_code"] == 130  # finished, marked as stopped
    assert torch.load(last, weights_only=True)["global_step"] == 0

    resumed = train_here([*SMALL, f"ckpt_path={last}"], tmp_path / "resumed")
    assert {k: resumed[k] for k in METRICS} == {k: reference[k] for k in METRICS}


def test_a_signal_between_fit_and_test_is_not_reported_as_a_result(tmp_path, monkeypatch):
    """Ctrl-C while the best checkpoint is being tested: interrupted, no test metrics."""
    import lightning

    test = lightning.Trainer.test

    def interrupted_test(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return test(self, *args, **kwargs)

    monkeypatch.setattr(lightning.Trainer, "test", interrupted_test)
    # What the process had before the run: Python's KeyboardInterrupt handler, or SIG_IGN when a
    # non-interactive shell started it in the background.
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(RunInterrupted) as stop:
        train_here([*SMALL, "trainer.max_epochs=1"], tmp_path)
    assert stop.value.exit_status == 130
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "interrupted" and "test/acc" not in results
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


@pytest.mark.slow
def test_under_slurm_lightning_requeues_on_sigusr1_and_sigterm_then_stops(tmp_path, monkeypatch):
    """SLURM: Lightning's SLURMEnvironment (auto_requeue) answers SIGUSR1 with an hpc checkpoint and
    ``scontrol requeue <job id>``; the SIGTERM SLURM then sends stops the run as anywhere else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/scontrol.log\n')
    (bin_dir / "scontrol").chmod(0o755)
    for key, value in {
        "SLURM_JOB_ID": "4242",
        "SLURM_NTASKS": "1",
        "SLURM_JOB_NAME": "seq2vec",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "SLURM_NODELIST": "localhost",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }.items():
        monkeypatch.setenv(key, value)
    plan = [
        f"+callbacks.signal._target_={SignalAt.__module__}.SignalAt",
        f"+callbacks.signal.signum={signal.SIGUSR1}",
        "+callbacks.signal.step=5",
        f"+callbacks.signal.then={signal.SIGTERM}",
        "+callbacks.signal.then_step=6",
    ]
    with pytest.raises(RunInterrupted) as stop:
        train_here([*SMALL, *plan], tmp_path / "run")
    assert stop.value.exit_status == 143 and "(SLURM job 4242)" in str(stop.value)
    assert (tmp_path / "scontrol.log").read_text().split() == ["requeue", "4242"]
    assert list((tmp_path / "run").glob("hpc_ckpt_*.ckpt"))  # Lightning's own, mid-epoch
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "interrupted"


@pytest.mark.slow
def test_ctrl_c_stops_a_sweep_and_still_leaves_the_report_of_the_jobs_that_finished(tmp_path):
    """Job 0 finishes, job 1 gets Ctrl-C, job 2 never starts; the sweep's report is written."""
    tiny = [
        "logger=none",
        "summarizer=mean",
        "data.source.n_train=200",
        "data.source.n_validation=100",
        "data.source.n_test=100",
        "model.embedding.dim=16",
        "model.head.width=16",
        "trainer.max_epochs=2",
    ]
    plan = [
        f"+callbacks.signal._target_={SignalAt.__module__}.SignalAt",
        f"+callbacks.signal.signum={signal.SIGINT}",
        "+callbacks.signal.step=1000,2,1000",
    ]  # only job 1 reaches its step
    cmd = [sys.executable, "-m", "src.train", "-m", *tiny, *plan, f"hydra.sweep.dir={tmp_path}"]
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 130, proc.stderr[-3000:]
    line = resume_line(proc.stderr)
    assert line.endswith(
        f"rerun the sweep's command with hydra.sweep.dir={tmp_path} ckpt_path=last "
        "(each job resumes from its last.ckpt; finished jobs are only tested again)"
    )
    statuses = [json.loads((tmp_path / job / "results.json").read_text())["status"] for job in ("0_mean", "1_mean")]
    assert statuses == ["ok", "interrupted"] and not (tmp_path / "2_mean").exists()
    assert (tmp_path / "report.md").is_file()  # by the sweep's own end-of-sweep callback
