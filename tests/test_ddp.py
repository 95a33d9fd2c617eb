"""``trainer=ddp``: two CPU processes over gloo train like one process, sync their metrics, and only
rank 0 writes results.json and the W&B run. Plus the Hydra plumbing that makes DDP sweep-safe."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import open_dict, read_write

from tests.helpers import REPO, compose_train_config

# An easy, bag-of-words version of the built-in task, so one epoch gets well above chance (0.5):
# every example is order-free, sentences are short, the model is the plain mean of embeddings.
LEARNABLE = [
    "summarizer=mean",
    "trainer.max_epochs=1",
    "data.source.n_train=2000",
    "data.source.n_validation=200",
    "data.source.n_test=200",
    "data.source.order_dependent_fraction=0",
    "data.source.long_range_fraction=0",
    "data.source.max_length=12",
    "model.embedding.dim=16",
    "model.head.width=16",
    "model.embedding.dropout=0",
    "model.head.dropout=0",
    "model.optimizer.lr=0.03",
]
# Same examples per epoch and same effective batch (2 ranks x 8 = 16), hence the same number of
# updates; the batches themselves differ, so the two runs differ like two seeds do. Single-process
# test accuracy over seeds 0, 1, 2 of this setting: 0.76, 0.735, 0.795.
TOLERANCE = 0.10
ABOVE_CHANCE = 0.65


def train_here(overrides: list[str], out: Path) -> dict:
    from src.train import train

    cfg = compose_train_config(list(overrides), out)
    with open_dict(cfg):
        del cfg["hydra"]
    return train(cfg)


def synced_metrics(log_file: Path, rank: int) -> dict:
    line = next(line for line in log_file.read_text().splitlines() if f"rank {rank} of 2, synced metrics:" in line)
    return ast.literal_eval(line.split("synced metrics: ", 1)[1])


@pytest.mark.slow
def test_two_cpu_processes_train_like_one_and_only_rank0_writes(tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.train",
            *LEARNABLE,
            "trainer=ddp",
            "data.batch_size=8",
            "logger=wandb",
            f"hydra.run.dir={out}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (
        "Starting with 2 processes" in proc.stdout + proc.stderr
        and "distributed_backend=gloo" in proc.stdout + proc.stderr
    )

    # Metrics are synced: rank 1 (its own log) ends with exactly rank 0's numbers, train/loss
    # included, although each rank trained on different batches.
    rank0, rank1 = synced_metrics(out / "train.log", 0), synced_metrics(out / "train_rank1.log", 1)
    assert rank0 == rank1 and "train/loss" in rank0
    # train/tokens_per_s too: the whole job's rate, all ranks' tokens over the slowest one's time
    assert rank0["train/tokens_per_s"] > 0

    # Written once, by rank 0: one results.json, one W&B run, one .hydra/ (the child writes none).
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "ok" and results["test/acc"] == pytest.approx(rank0["test/acc"])
    assert results["tokens_per_second"] == pytest.approx(rank0["train/tokens_per_s"], rel=1e-4)
    assert len(list((out / "wandb").glob("offline-run-*"))) == 1
    assert [p.relative_to(out) for p in out.rglob("results.json")] == [Path("results.json")]
    assert [p.relative_to(out) for p in out.rglob(".hydra")] == [Path(".hydra")]

    single = train_here(LEARNABLE + ["logger=none", "data.batch_size=16"], tmp_path / "single")
    assert single["test/acc"] > ABOVE_CHANCE and results["test/acc"] > ABOVE_CHANCE
    assert abs(results["test/acc"] - single["test/acc"]) <= TOLERANCE, (results["test/acc"], single["test/acc"])


def test_child_ranks_rerun_this_job_alone_not_the_sweep(tmp_path):
    """In a sweep, Lightning's own child command would carry `-m` and the whole sweep list."""
    from hydra.core.hydra_config import HydraConfig

    from src.distributed import hydra_job_command

    job_dir = tmp_path / "multirun" / "3_rnn"
    cfg = compose_train_config(["summarizer=rnn", "trainer=ddp", "model.optimizer.lr=0.01"], job_dir)
    with read_write(cfg.hydra.runtime), read_write(cfg.hydra.job):
        cfg.hydra.runtime.cwd = str(REPO)
        cfg.hydra.job.name = "train"
    HydraConfig.instance().set_config(cfg)
    saved_argv = sys.argv
    sys.argv = ["src/train.py", "-m", "summarizer=mean,rnn", "trainer=ddp", "model.optimizer.lr=0.01"]
    try:
        command, cwd = hydra_job_command(local_rank=1)
    finally:
        sys.argv = saved_argv
    assert cwd == str(REPO)
    assert command[3:] == [
        "--config-name=train",
        "summarizer=rnn",
        "trainer=ddp",
        "model.optimizer.lr=0.01",
        f'hydra.run.dir="{job_dir}"',
        "hydra.job.name=train_rank1",
        "hydra.output_subdir=null",
    ]


def test_end_of_a_ddp_job_forgets_its_ranks_and_rendezvous(monkeypatch):
    """Else the next job of a sweep would join the finished job's process group and wait forever."""
    from src import distributed

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    monkeypatch.setattr(distributed, "_launched", [child])
    for name in ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.setenv(name, "1")
    distributed.end_distributed_job(timeout_s=60)
    assert child.returncode == 0 and distributed._launched == []
    assert not {"MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE"} & set(os.environ)


def test_ddp_config_builds_the_sweep_safe_strategy_on_cpu_gloo():
    import hydra

    from src.distributed import HydraDDPStrategy

    cfg = compose_train_config(["trainer=ddp", "logger=none"])
    assert cfg.trainer.devices == 2 and cfg.trainer.num_nodes == 1 and cfg.trainer.accelerator == "cpu"
    trainer = hydra.utils.instantiate(cfg.trainer, default_root_dir="/tmp/unused")
    assert isinstance(trainer.strategy, HydraDDPStrategy)
    assert trainer.strategy._get_process_group_backend() == "gloo"
    assert type(trainer.strategy.checkpoint_io).__name__ == "AtomicCheckpointIO"
