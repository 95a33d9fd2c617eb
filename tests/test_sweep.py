"""Sweeps as a user starts them: the comparison experiment, unique sweep dirs, a crashed job that
does not lose the others, the joblib / submitit launchers and an Optuna study (tiny settings)."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from src.utils.launcher import threads_per_job
from tests.helpers import CONF_DIR, REPO, TINY, compose_train_config


def run_sweep(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "src.train", "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def the_sweep_dir(root: Path) -> Path:
    """The one sweep dir under ``root`` (sweep dirs end in a random suffix, so it is looked up)."""
    dirs = [p for p in root.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs  # every job of the sweep landed in the same dir
    return dirs[0]


def results(sweep_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/results.json"))}


# ------------------------------------------------------------------------------------ configs
def sweep_jobs(*overrides: str) -> list[dict]:
    """The jobs a multirun of ``overrides`` expands to, in launch order."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = compose_train_config(list(overrides)).hydra.sweeper.params
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return [dict(j) for j in itertools.product(*[[(o.key_or_group, v) for v in o.sweep_iterator()] for o in parsed])]


def test_compare_runs_the_courses_seven_and_compare_all_every_summarizer_with_three_seeds():
    from src.summarizers.registry import summarizer_names

    jobs = sweep_jobs("experiment=compare")
    assert list(jobs[0]) == ["seed", "summarizer"]  # seeds vary slowest: each wave has every summarizer
    assert [j["summarizer"] for j in jobs[:7]] == ["mean", "rnn", "lstm_h", "lstm_c", "lstm_hc", "bilstm", "avg_ch"]
    assert len(jobs) == 21 and {j["seed"] for j in jobs} == {0, 1, 2}
    every = sweep_jobs("experiment=compare_all")
    files = sorted(p.stem for p in (CONF_DIR / "summarizer").glob("*.yaml"))
    assert sorted({j["summarizer"] for j in every}) == files and len(every) == 3 * len(files)
    assert [j["summarizer"] for j in every[: len(files)]] == summarizer_names()
    assert set(summarizer_names("reference")) == {"max", "swem_concat", "swem_hier", "bilstm_max", "attention", "cnn"}


def test_an_experiment_applies_a_summarizers_own_tuned_settings_and_only_its_own():
    """conf/tuned/<experiment>/<summarizer>.yaml: bilstm on TREC chose weight decay 0 on validation;
    the other summarizers keep the experiment's 0.01, other experiments are untouched, and the
    command line still has the last word."""

    def decay(*overrides):
        data_dir = ["data.data_dir=x"] if any(o.startswith("experiment=") for o in overrides) else []
        cfg = compose_train_config([*data_dir, *overrides])
        return cfg.model.optimizer.weight_decay, cfg.hydra.runtime.choices.get("tuned")

    assert decay("experiment=trec", "summarizer=bilstm") == (0.0, "trec/bilstm")
    for other in ("mean", "rnn", "lstm_h", "lstm_c", "lstm_hc", "avg_ch"):
        assert decay("experiment=trec", f"summarizer={other}")[0] == 0.01
    assert decay("experiment=mr", "summarizer=bilstm")[0] == 0.01
    assert decay("summarizer=bilstm")[0] == 0.01
    assert decay("experiment=trec", "summarizer=bilstm", "model.optimizer.weight_decay=0.05")[0] == 0.05
    for path in (CONF_DIR / "tuned").glob("*/*.yaml"):  # every tuned file names a real pair
        if path.parent.name == "sets":  # one data set's own settings
            assert (CONF_DIR / "data" / path.name).is_file(), path
            continue
        assert (CONF_DIR / "experiment" / f"{path.parent.name}.yaml").is_file(), path
        assert any((CONF_DIR / group / path.name).is_file() for group in ("summarizer", "data")), path


def test_two_sweeps_started_in_the_same_second_get_different_dirs():
    first, second = (compose_train_config([]) for _ in range(2))
    dirs = [str(first.hydra.sweep.dir), str(second.hydra.sweep.dir)]
    for d in dirs:
        assert re.fullmatch(r"outputs/multirun/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d_[0-9a-f]{6}", d), d
    assert dirs[0][-6:] != dirs[1][-6:]
    assert str(first.hydra.sweep.dir) == dirs[0]  # resolved once per sweep: all its jobs agree
    # two processes, as two `python -m src.train -m ...` started together
    code = (
        "import src.utils.resolvers; from hydra.core.utils import setup_globals; setup_globals(); "
        "from omegaconf import OmegaConf; print(OmegaConf.create({'d': '${now:%H-%M-%S}_${unique_id:}'}).d)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    names = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(re.fullmatch(r"\d\d-\d\d-\d\d_[0-9a-f]{6}", n) for n in names) and names[0] != names[1]


def test_threads_per_job_splits_the_cores_among_parallel_jobs():
    cores = os.cpu_count() or 1
    assert threads_per_job(compose_train_config([])) is None  # one job at a time: torch's default
    assert threads_per_job(compose_train_config(["threads=3"])) == 3
    cfg = compose_train_config(["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    assert threads_per_job(cfg) == max(1, cores // 2)
    assert threads_per_job(compose_train_config(["hydra/launcher=joblib"])) == 1  # n_jobs=-1: one per core
    assert threads_per_job(compose_train_config(["hydra/launcher=slurm", "hydra.launcher.cpus_per_task=6"])) == 6


def test_slurm_launcher_config_has_time_partition_gpus_and_nodes():
    cfg = compose_train_config(
        [
            "hydra/launcher=slurm",
            "hydra.launcher.partition=gpu",
            "hydra.launcher.nodes=2",
            "hydra.launcher.timeout_min=240",
            "hydra.launcher.gpus_per_node=4",
        ]
    )
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert (launcher["partition"], launcher["nodes"], launcher["timeout_min"], launcher["gpus_per_node"]) == (
        "gpu",
        2,
        240,
        4,
    )


def test_optuna_search_config():
    cfg = compose_train_config(["hparams_search=optuna", "summarizer=lstm_c"])
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.direction == "maximize"
    assert set(sweeper.params) == {"model.optimizer.lr", "summarizer.hidden_size", "model.embedding.dropout"}
    assert sweeper.max_failure_rate == 1.0  # failed trials never abort the study


# ------------------------------------------------------------------------------------ sweeps
@pytest.mark.slow
def test_joblib_sweep_in_parallel_survives_a_failed_job_and_reports_it(tmp_path):
    proc = run_sweep(
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "summarizer=mean",
        "model.optimizer.lr=0.003,-1",
        *TINY,
        f"hydra.sweep.dir={tmp_path}/s_${{unique_id:}}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = the_sweep_dir(tmp_path)
    jobs = results(sweep)
    assert [j["status"] for j in jobs.values()] == ["ok", "failed"]
    assert jobs["1_mean"]["error"] == "model.optimizer.lr must be a number > 0, got -1"
    ok = jobs["0_mean"]
    assert ok["threads"] == max(1, (os.cpu_count() or 1) // 2)
    # the order probe: a bag of words cannot see word order, so shuffling changes nothing
    predictions = pd.read_csv(sweep / "0_mean" / "predictions.csv")
    assert len(predictions) == 100 and predictions["index"].tolist() == list(range(100))
    assert (predictions["pred"] == predictions["pred_shuffled"]).all()
    assert ok["test/acc_shuffled"] == pytest.approx(ok["test/acc"]) and ok["test/order_drop"] == pytest.approx(0)
    assert ok["test/acc"] == pytest.approx((predictions["pred"] == predictions["label"]).mean())
    # the report was written by the Hydra callback at the end of the multirun
    report = (sweep / "report.md").read_text()
    assert "Jobs: 2 (1 ok, 1 failed)" in report
    assert "`1_mean` (mean, seed 0): model.optimizer.lr must be a number > 0, got -1" in report
    assert pd.read_csv(sweep / "results.csv")["status"].tolist() == ["ok", "failed"]
    assert (sweep / "accuracy.png").stat().st_size > 10_000


@pytest.mark.slow
def test_submitit_local_two_job_sweep(tmp_path):
    proc = run_sweep(
        "hydra/launcher=submitit_local",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.timeout_min=10",
        "summarizer=mean",
        "seed=0,1",
        *TINY,
        f"hydra.sweep.dir={tmp_path}/s_${{unique_id:}}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = the_sweep_dir(tmp_path)
    jobs = results(sweep)
    assert [(j["status"], j["seed"], j["threads"]) for j in jobs.values()] == [("ok", 0, 1), ("ok", 1, 1)]
    assert list((sweep / ".submitit").glob("*/*_log.out"))  # each job ran as a submitit job
    summary = pd.read_csv(sweep / "summary.csv")
    assert summary["seeds"].tolist() == [2]
    assert summary["test_acc"].item() == pytest.approx((jobs["0_mean"]["test/acc"] + jobs["1_mean"]["test/acc"]) / 2)


@pytest.mark.slow
def test_optuna_study_goes_on_after_a_failed_trial(tmp_path):
    # TPE's first trials are random (seeded): hidden sizes 16, -1 (fails), 16
    proc = run_sweep(
        "hparams_search=optuna",
        "summarizer=lstm_h",
        "hydra.sweeper.n_trials=3",
        "summarizer.hidden_size=choice(-1,16)",
        "model.optimizer.lr=0.003",
        "model.embedding.dropout=0.1",
        *TINY,
        f"hydra.sweep.dir={tmp_path}/s_${{unique_id:}}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = the_sweep_dir(tmp_path)
    jobs = results(sweep)
    statuses = [j["status"] for j in jobs.values()]
    assert len(jobs) == 3 and statuses.count("failed") == 1 and statuses[-1] == "ok", statuses
    assert "hidden_size must be a positive integer, got -1" in next(
        j["error"] for j in jobs.values() if j["status"] == "failed"
    )
    best = OmegaConf.load(sweep / "optimization_results.yaml")
    assert best.best_params["summarizer.hidden_size"] == 16
    assert best.best_value == pytest.approx(max(j["val/acc_best"] for j in jobs.values() if j["status"] == "ok"))
    assert "## Optuna" in (sweep / "report.md").read_text()
