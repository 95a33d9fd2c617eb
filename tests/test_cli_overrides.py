"""The entry points take the same common overrides: ``logger=...``, ``threads=...``, ``trainer.*``.

``python -m src.eval ckpt_path=... logger=none`` used to fail with "Could not override 'logger'"
while ``src.train`` took it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from tests.helpers import CONF_DIR, REPO, compose_train_config, tiny

SEED = 2


def compose(config_name: str, overrides: list[str], output_dir: Path | None = None):
    """The config ``python -m src.<config_name> <overrides>`` runs with, without the hydra node."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = hydra_compose(config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir or "unused")
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


@pytest.mark.parametrize("config_name", ["train", "eval", "predict"])
@pytest.mark.parametrize("logger", ["none", "csv", "wandb"])
def test_every_entry_point_takes_a_logger_and_threads(config_name, logger):
    cfg = compose(config_name, [f"logger={logger}", "threads=1"])
    assert "csv" in cfg.logger and ("wandb" in cfg.logger) == (logger == "wandb")
    assert cfg.threads == 1


@pytest.mark.parametrize("config_name", ["train", "eval"])
def test_training_and_eval_take_the_trainer_group_and_its_flags(config_name):
    cfg = compose(config_name, ["trainer=gpu", "trainer.limit_test_batches=2", "trainer.precision=bf16-mixed"])
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.limit_test_batches == 2
    assert cfg.trainer.precision == "bf16-mixed"


def test_eval_and_predict_log_nothing_unless_asked():
    assert compose("eval", []).get("logger") is None
    assert compose("predict", []).get("logger") is None


def test_eval_names_its_wandb_run_after_the_checkpoints_summarizer_and_seed():
    cfg = compose("eval", ["logger=wandb"])
    with open_dict(cfg):
        cfg.seed, cfg.summarizer_name = 3, "lstm_h"  # what evaluate() takes from the checkpoint
    wandb = OmegaConf.to_container(cfg.logger.wandb, resolve=True)
    assert wandb["name"] == "eval-lstm_h-s3" and wandb["job_type"] == "lstm_h" and "seed3" in wandb["tags"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny ``mean`` model, trained for two batches in this process."""
    from src.train import train

    cfg = compose_train_config(
        [*tiny("mean"), f"seed={SEED}", "trainer.limit_train_batches=2"], tmp_path_factory.mktemp("trained")
    )
    with open_dict(cfg):
        del cfg["hydra"]
    return Path(train(cfg)["best_checkpoint"])


def test_eval_with_logger_none_writes_the_test_metrics_to_csv(checkpoint, tmp_path):
    from src.eval import evaluate

    results = evaluate(compose("eval", [f"ckpt_path={checkpoint}", "logger=none", "threads=1"], tmp_path))
    assert results["seed"] == SEED and results["summarizer"] == "mean"
    with open(tmp_path / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["test/acc"]) == pytest.approx(results["test/acc"], abs=1e-6)


def test_eval_without_a_logger_writes_no_metrics_file(checkpoint, tmp_path):
    from src.eval import evaluate

    evaluate(compose("eval", [f"ckpt_path={checkpoint}"], tmp_path))
    assert (tmp_path / "results.json").is_file() and not (tmp_path / "csv").exists()


@pytest.mark.slow
def test_the_eval_and_predict_commands_of_the_issue_run(checkpoint, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "src.eval", f"ckpt_path={checkpoint}", "logger=none", f"hydra.run.dir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "results.json").read_text())["status"] == "ok"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.predict",
            f"ckpt_path={checkpoint}",
            "text=a fine film .",
            "logger=none",
            "threads=1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["label"] in ("negative", "positive")
