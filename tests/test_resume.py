"""Resume after a crash, checkpoints a kill cannot corrupt, and NaN stops that keep the good checkpoints.

The central test SIGKILLs a real ``python -m src.train`` once its first checkpoint exists, resumes
from ``last.ckpt`` into a new run dir, and requires the final metrics *and weights* to equal an
uninterrupted run's bit for bit (CPU, deterministic algorithms, per-epoch re-seeding).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from lightning import Callback
from omegaconf import open_dict

from src.checkpointing import (
    RUN_KEY,
    AtomicCheckpointIO,
    CheckpointError,
    ResumableTraining,
    load_checkpoint,
    prepare_resume,
)
from src.model import loss_watch
from tests.helpers import REPO, RUN_METRICS, SMALL_DATA, SMALL_LSTM, compose_train_config

SMALL = [*SMALL_LSTM, *SMALL_DATA]
METRICS = RUN_METRICS


def train_here(overrides: list[str], out: Path) -> dict:
    """``python -m src.train <overrides> hydra.run.dir=<out>``, in this process (saves the start-up)."""
    from src.train import train

    cfg = compose_train_config(list(overrides), out)
    with open_dict(cfg):
        del cfg["hydra"]  # a real run's cfg has no hydra node; HydraConfig keeps its own copy
    return train(cfg)


def same_threads_env() -> dict:
    """A subprocess computes with as many threads as this process, so floats add up identically."""
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(torch.get_num_threads()),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
    }


def weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- kill and resume
@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_same_metrics_weights_and_wandb_run(tmp_path):
    overrides = SMALL + [
        "data.source.n_train=256",
        "data.source.n_validation=64",
        "data.source.n_test=64",
        "trainer.max_epochs=3",
        "seed=5",
    ]
    reference = train_here(overrides, tmp_path / "reference")

    killed_dir = tmp_path / "killed"
    last = killed_dir / "checkpoints" / "last.ckpt"
    cmd = [sys.executable, "-m", "src.train", *overrides, "logger=wandb", f"hydra.run.dir={killed_dir}"]
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=same_threads_env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        # last.ckpt is written when training starts; epoch_000.ckpt, just before it, at epoch 0's end
        while (
            proc.poll() is None
            and not (killed_dir / "checkpoints" / "epoch_000.ckpt").exists()
            and (time.monotonic() < deadline)
        ):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # mid-training: somewhere in epoch 1 (or later)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-3000:]
    assert not (killed_dir / "results.json").exists()
    checkpoint = load_checkpoint(last)
    assert checkpoint["epoch"] < 2, "the kill came after the last epoch: nothing left to resume"
    wandb_id = checkpoint[RUN_KEY]["wandb_id"]
    assert wandb_id and list((killed_dir / "wandb").glob(f"offline-run-*-{wandb_id}"))

    import wandb

    try:
        resumed = train_here(overrides + ["logger=wandb", f"ckpt_path={last}"], tmp_path / "resumed")
        assert wandb.run is not None and wandb.run.id == wandb_id  # the W&B run continues
    finally:
        wandb.finish()
    assert list((tmp_path / "resumed" / "wandb").glob(f"offline-run-*-{wandb_id}"))

    assert {k: resumed[k] for k in METRICS} == {k: reference[k] for k in METRICS}
    # resuming a finished run (a restarted sweep job that had completed) only tests it again
    again = train_here(overrides + [f"ckpt_path={tmp_path / 'resumed/checkpoints/last.ckpt'}"], tmp_path / "again")
    assert {k: again[k] for k in METRICS} == {k: reference[k] for k in METRICS}
    for name in ("best_checkpoint",):  # the best epoch may lie before the crash, in the killed run's dir
        assert Path(resumed[name]).name == Path(reference[name]).name
    for ours, theirs in (
        (weights(Path(resumed["best_checkpoint"])), weights(Path(reference["best_checkpoint"]))),
        (weights(tmp_path / "resumed/checkpoints/last.ckpt"), weights(tmp_path / "reference/checkpoints/last.ckpt")),
    ):
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_atomic_checkpoint_io_survives_sigkill_mid_write(tmp_path):
    """Kill a writer at random moments while it rewrites a 16 MB checkpoint: the file always loads."""
    target = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.zeros(4)}, "version": -1}, target)
    big = torch.arange(4_000_000, dtype=torch.float32)
    for attempt, delay in enumerate([0.0, 0.005, 0.02, 0.05, 0.1]):
        pid = os.fork()
        if pid == 0:  # child: rewrite forever until killed
            try:
                for version in range(10_000):
                    io.save_checkpoint({"state_dict": {"w": big + version}, "version": version}, target)
            finally:
                os._exit(0)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        loaded = torch.load(target, weights_only=True)  # never torn
        version = loaded["version"]
        expected = torch.zeros(4) if version == -1 else big + version
        assert torch.equal(loaded["state_dict"]["w"], expected), attempt
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # readable like any other file


def test_atomic_checkpoint_io_keeps_the_old_file_when_a_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, target)

    def half_written(obj, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_written)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, target)
    monkeypatch.undo()
    assert torch.equal(torch.load(target, weights_only=True)["state_dict"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temp file left behind


# --------------------------------------------------------------------------- NaN / inf
class Poison(Callback):
    """Test helper: fills the weights with NaN after global step ``at_step``, first recording the
    checkpoint files that exist at that moment (the good state)."""

    at_step = 0
    seen: dict = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == type(self).at_step:
            folder = Path(trainer.default_root_dir) / "checkpoints"
            type(self).seen = {"digests": digests(folder), "step": trainer.global_step}
            with torch.no_grad():
                for p in pl_module.head.parameters():
                    p.fill_(float("nan"))


POISON = [f"+callbacks.poison._target_={Poison.__module__}.Poison"]


@pytest.mark.slow
@pytest.mark.parametrize("checks", ["every_step", "deferred"])
@pytest.mark.parametrize("where", ["mid_epoch", "end_of_epoch"])
def test_nan_stops_with_the_step_and_keeps_the_checkpoints(tmp_path, where, checks, monkeypatch):
    if checks == "deferred":  # as on CUDA: the loss is read back only at epoch ends and checkpoints
        monkeypatch.setitem(loss_watch.STEPS_BETWEEN_CHECKS, "cpu", 1000)
    # 256 examples / batch 64 = 4 steps per epoch; epoch 0 ends at step 4 and is checkpointed.
    Poison.at_step = 6 if where == "mid_epoch" else 8  # step 8 ends epoch 1: validation comes next
    with pytest.raises(FloatingPointError) as error:
        train_here(
            SMALL
            + [
                "data.source.n_train=256",
                "data.source.n_validation=64",
                "data.source.n_test=64",
                "trainer.max_epochs=3",
            ]
            + POISON,
            tmp_path,
        )
    message = str(error.value)
    assert "\n" not in message
    if where == "mid_epoch":  # the next training step sees the NaN loss (deferred: and names it later)
        assert f"non-finite training loss (nan) at global step {Poison.at_step} (epoch 1, batch 2)" in message
        raised_in_the_step = "training_step" in {entry.name for entry in error.traceback}
        assert raised_in_the_step == (checks == "every_step")
    else:  # validation sees it before a checkpoint can store the broken weights
        assert f"non-finite validation loss (nan) after global step {Poison.at_step} (epoch 1," in message
    folder = tmp_path / "checkpoints"
    assert digests(folder) == Poison.seen["digests"]  # not one byte of a checkpoint changed
    assert set(Poison.seen["digests"]) == {"epoch_000.ckpt", "last.ckpt"}
    for name in ("epoch_000.ckpt", "last.ckpt"):
        assert all(torch.isfinite(t).all() for t in weights(folder / name).values())
    assert not (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_nan_error_is_one_line_on_the_command_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.train",
            *SMALL,
            "trainer.max_epochs=1",
            "model.optimizer.lr=1e30",
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "non-finite training loss" in errors[0] and "at global step 1 " in errors[0], errors
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- resume plumbing
def test_resume_from_a_missing_or_foreign_checkpoint_is_a_one_line_error(tmp_path):
    import hydra

    cfg = compose_train_config(SMALL + [f"ckpt_path={tmp_path / 'nope.ckpt'}"], tmp_path)
    model = hydra.utils.instantiate(cfg.model, summarizer=cfg.summarizer, vocab_size=50, num_classes=2)
    with pytest.raises(CheckpointError, match=r"^checkpoint not found: .*nope\.ckpt$"):
        prepare_resume(cfg, model)

    other = hydra.utils.instantiate(
        cfg.model, summarizer={**cfg.summarizer, "hidden_size": 8}, vocab_size=50, num_classes=2
    )
    torch.save({"state_dict": other.state_dict(), "hyper_parameters": dict(other.hparams)}, tmp_path / "other.ckpt")
    with open_dict(cfg):
        cfg.ckpt_path = str(tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError) as error:
        prepare_resume(cfg, model)
    assert "does not fit this model" in str(error.value) and "shape [32, 16] there but [64, 16] here" in str(
        error.value
    )
    assert "\n" not in str(error.value)

    (tmp_path / "torn.ckpt").write_bytes(b"PK\x03\x04 torn")
    with open_dict(cfg):
        cfg.ckpt_path = str(tmp_path / "torn.ckpt")
    with pytest.raises(CheckpointError, match="unreadable"):
        prepare_resume(cfg, model)


def test_ckpt_path_last_resumes_the_runs_own_last_checkpoint_or_starts_fresh(tmp_path):
    import hydra

    cfg = compose_train_config(SMALL + ["ckpt_path=last", "logger=wandb"], tmp_path)
    model = hydra.utils.instantiate(cfg.model, summarizer=cfg.summarizer, vocab_size=50, num_classes=2)
    assert prepare_resume(cfg, model) is None and cfg.ckpt_path is None  # nothing yet: fresh start

    (tmp_path / "checkpoints").mkdir()
    torch.save(
        {"state_dict": model.state_dict(), "epoch": 2, "global_step": 15, RUN_KEY: {"seed": 0, "wandb_id": "abc123"}},
        tmp_path / "checkpoints" / "last.ckpt",
    )
    with open_dict(cfg):
        cfg.ckpt_path = "last"
    assert prepare_resume(cfg, model)["epoch"] == 2
    assert cfg.ckpt_path == str(tmp_path / "checkpoints" / "last.ckpt")
    assert cfg.logger.wandb.id == "abc123" and cfg.logger.wandb.resume == "allow"


def test_a_run_resumed_after_early_stopping_fired_trains_no_further():
    callback = ResumableTraining(seed=0)
    stopped = SimpleNamespace(stopped_epoch=3, patience=2, wait_count=2)
    waiting = SimpleNamespace(stopped_epoch=0, patience=2, wait_count=1)
    fresh = SimpleNamespace(stopped_epoch=0, patience=0, wait_count=0)
    for callbacks, should_stop in (([stopped], True), ([waiting], False), ([fresh], False)):
        trainer = SimpleNamespace(early_stopping_callbacks=callbacks, should_stop=False)
        callback.on_train_start(trainer, None)
        assert trainer.should_stop is should_stop
