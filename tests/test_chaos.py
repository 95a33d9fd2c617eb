"""Chaos: a sweep killed at random moments in every phase ends with an uninterrupted sweep's numbers
(``tests/chaos.py`` runs the experiment; ``python -m tests.chaos --runs N`` repeats it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from omegaconf import open_dict

from tests.chaos import JOBS, PHASES, compare, run_once
from tests.helpers import compose_train_config, tiny


@pytest.mark.slow
def test_a_sweep_killed_in_every_phase_ends_with_the_uninterrupted_sweeps_results(tmp_path):
    outcome = run_once(tmp_path, kills=5, seed=0)
    assert outcome.differences == [], outcome
    phases = {phase for phase, _ in outcome.kills}
    assert len(outcome.kills) >= 5 and set(PHASES) <= phases, outcome
    assert {name for _, name in outcome.kills} == {"SIGKILL", "SIGTERM"}, outcome
    assert ("checkpoint", "SIGKILL") in outcome.kills


def fake_sweep(folder: Path) -> None:
    import pandas as pd

    rows = [
        {
            "job": job,
            "summarizer": job.split("_")[1],
            "seed": i % 2,
            "status": "ok",
            "test/acc": 0.5 + i / 100,
            "best_checkpoint": f"{folder}/{job}/checkpoints/epoch_001.ckpt",
        }
        for i, job in enumerate(JOBS)
    ]
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "results.csv", index=False)
    for job in JOBS:
        (folder / job / "checkpoints").mkdir(parents=True)
        (folder / job / "predictions.csv").write_text("index,pred\n0,1\n")


def test_the_comparison_finds_a_changed_metric_a_lost_or_repeated_job_and_a_temporary_file(tmp_path):
    import pandas as pd

    fake_sweep(tmp_path / "reference")
    shutil.copytree(tmp_path / "reference", tmp_path / "killed")
    killed = tmp_path / "killed"
    assert compare(tmp_path / "reference", killed) == []  # paths differ, names do not
    results = pd.read_csv(killed / "results.csv")
    results.loc[2, "test/acc"] += 1e-9
    results.loc[3, "best_checkpoint"] = str(killed / JOBS[3] / "checkpoints" / "epoch_001-v1.ckpt")
    pd.concat([results, results.tail(1)]).to_csv(killed / "results.csv", index=False)
    (killed / JOBS[0] / "checkpoints" / ".last.ckpt.abcd_123.tmp").write_bytes(b"half")
    (killed / JOBS[1] / "predictions.csv").write_text("index,pred\n0,0\n")
    found = compare(tmp_path / "reference", killed)
    assert [line.split(" ")[0] for line in found] == [
        "jobs",
        "test/acc:",
        "best",
        "1_mean/predictions.csv",
        "temporary",
    ]


def test_a_rerun_job_removes_the_temporary_files_its_killed_attempt_left(tmp_path):
    """Chaos finding: SIGKILL while a checkpoint was written left ``.last.ckpt.<random>.tmp`` in the
    job's checkpoints folder for good; the job's next attempt now removes it (and only such files)."""
    from src.train import train

    left = [tmp_path / "checkpoints" / ".last.ckpt.ol4yb30g.tmp", tmp_path / ".results.json.k2_9zq1a.tmp"]
    kept = [tmp_path / ".notes.tmp", tmp_path / "checkpoints" / ".last.ckpt.toolongname.tmp"]
    for path in left + kept:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"half a file")
    cfg = compose_train_config([*tiny("mean"), "ckpt_path=last"], tmp_path)
    with open_dict(cfg):
        del cfg["hydra"]
    assert train(cfg)["status"] == "ok"
    assert [p.exists() for p in left + kept] == [False, False, True, True]
