"""logger=tensorboard, logger=mlflow and logger=many_loggers: each tiny run writes what its dashboard
reads (TensorBoard event files, an MLflow run in its local store), read back with the dashboards'
own readers and no server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, TINY, compose_train_config
from tests.test_wandb import read_offline_run

RUN = [o for o in TINY if not o.startswith("logger=")] + ["summarizer=mean", "seed=2"]
SCALARS = {"train/loss", "val/loss", "val/acc", "val/acc_best", "test/acc", "test/f1"}


@pytest.mark.parametrize(
    ("choice", "loggers"),
    [
        ("tensorboard", {"csv", "tensorboard"}),
        ("mlflow", {"csv", "mlflow"}),
        ("many_loggers", {"csv", "wandb", "tensorboard", "mlflow"}),
        ("[wandb,mlflow]", {"csv", "wandb", "mlflow"}),
    ],
)
def test_each_logger_choice_keeps_the_csv_logger(choice, loggers):
    cfg = compose_train_config([f"logger={choice}"])
    assert set(cfg.logger) == loggers


def test_the_mlflow_store_is_a_local_file_in_the_run_dir(tmp_path):
    cfg = compose_train_config(["logger=mlflow"], output_dir=tmp_path)
    assert cfg.logger.mlflow.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"  # offline: no server
    assert cfg.logger.mlflow.artifact_location == f"{tmp_path}/mlartifacts"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny run per logger choice, made when a test first asks for it."""
    made: dict[str, Path] = {}

    def run(choice: str) -> Path:
        if choice not in made:
            out = tmp_path_factory.mktemp(choice) / "run"
            proc = subprocess.run(
                [sys.executable, "-m", "src.train", f"logger={choice}", *RUN, f"hydra.run.dir={out}"],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=600,
                env={**os.environ, "WANDB_MODE": "offline"},
            )
            assert proc.returncode == 0, proc.stderr[-3000:]
            made[choice] = out
        return made[choice]

    return run


def read_tensorboard(log_dir: Path) -> tuple[set[str], dict, set[str]]:
    """Scalar tags, the hyperparameters and the HParams tab's metric columns, as TensorBoard reads them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    events = EventAccumulator(str(log_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")
    session = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    hparams = {
        k: v.number_value if v.HasField("number_value") else v.string_value
        for k, v in session.session_start_info.hparams.items()
    }
    columns = {m.name.tag for m in experiment.experiment.metric_infos}
    return set(events.Tags()["scalars"]), hparams, columns


def read_mlflow(store: Path):
    """The one run of the ``seq2vec`` experiment in a local MLflow store, through MLflow's client."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("seq2vec")
    (run,) = client.search_runs([experiment.experiment_id])
    return run


@pytest.mark.slow
def test_tensorboard_event_files_hold_the_metrics_and_the_hyperparameters(runs):
    out = runs("tensorboard")
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    scalars, hparams, columns = read_tensorboard(out / "tensorboard")
    assert SCALARS <= scalars, scalars
    assert hparams["summarizer_name"] == "mean" and hparams["seed"] == 2
    assert hparams["data/source/n_train"] == 200 and hparams["params"] > 0
    assert columns == {"hp/val/acc_best", "hp/test/acc", "hp/test/f1"}  # the HParams tab's results
    assert not (out / "mlflow.db").exists() and not (out / "wandb").exists()  # only the logger asked for


@pytest.mark.slow
def test_mlflow_store_holds_a_finished_run_with_params_and_metrics(runs):
    out = runs("mlflow")
    run = read_mlflow(out / "mlflow.db")
    assert run.info.run_name == "mean-s2" and run.info.status == "FINISHED"
    assert run.data.params["summarizer_name"] == "mean" and run.data.params["seed"] == "2"
    assert run.data.params["data/source/n_train"] == "200" and int(run.data.params["params"]) > 0
    assert SCALARS <= run.data.metrics.keys(), run.data.metrics
    assert 0 <= run.data.metrics["test/acc"] <= 1
    assert run.data.tags["summarizer"] == "mean" and run.data.tags["data"] == "order_sentiment"
    assert run.info.artifact_uri.startswith(str(out / "mlartifacts"))  # nothing outside the run dir
    assert not (out / "tensorboard").exists()


@pytest.mark.slow
def test_many_loggers_writes_csv_wandb_tensorboard_and_mlflow(runs):
    out = runs("many_loggers")
    assert "val/acc" in (out / "csv" / "metrics.csv").read_text().splitlines()[0]
    (wandb_run,) = (out / "wandb").glob("offline-run-*")
    assert read_offline_run(wandb_run)["config"]["summarizer_name"] == "mean"
    scalars, hparams, _ = read_tensorboard(out / "tensorboard")
    assert SCALARS <= scalars and hparams["seed"] == 2
    run = read_mlflow(out / "mlflow.db")
    assert SCALARS <= run.data.metrics.keys() and run.data.params["seed"] == "2"
