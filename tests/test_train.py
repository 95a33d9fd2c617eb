"""`python -m src.train` end to end, as a user runs it (tiny settings)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, tiny


def run_train(*args: str, cwd=REPO, timeout=300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "src.train", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )


@pytest.mark.slow
def test_one_run_writes_results_checkpoints_and_metrics(tmp_path):
    out = tmp_path / "run"
    proc = run_train(*tiny("lstm_c"), "seed=3", "trainer.max_epochs=2", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    for key in (
        "summarizer",
        "seed",
        "data",
        "test/acc",
        "test/f1",
        "val/acc_best",
        "params",
        "train_seconds",
        "tokens_per_second",
        "test/acc_order_dependent",
        "test/acc_order_free",
    ):
        assert results.get(key) is not None, key
    assert results["summarizer"] == "lstm_c" and results["seed"] == 3 and results["data"] == "order_sentiment"
    assert 0.0 <= results["test/acc"] <= 1.0 and results["tokens_per_second"] > 0
    assert results["params"] > 1000
    # test/acc is the average of the two equally sized subsets
    assert results["test/acc"] == pytest.approx(
        (results["test/acc_order_dependent"] + results["test/acc_order_free"]) / 2, abs=1e-6
    )
    assert (out / "checkpoints" / "last.ckpt").is_file()
    # Lightning's messages once each on the console (its own handler printed them a second time),
    # and in the job's log file
    assert (proc.stdout + proc.stderr).count("`Trainer.fit` stopped") == 1, proc.stdout[-3000:]
    assert "`Trainer.fit` stopped" in (out / "train.log").read_text()
    # a quiet, honest console: no advertisement, no "weights_only ... defaulting to False" (the
    # first last.ckpt is a full checkpoint on purpose; every checkpoint is loaded as data only)
    for text in (proc.stdout + proc.stderr, (out / "train.log").read_text()):
        assert "litlogger" not in text and "weights_only" not in text, text[-3000:]
    with open(out / "csv" / "metrics.csv") as f:
        columns = next(csv.reader(f))
    for name in ("train/loss", "val/loss", "val/acc", "val/acc_best", "test/acc", "test/f1"):
        assert name in columns, columns


def test_unknown_summarizer_lists_the_choices(tmp_path):
    proc = run_train("summarizer=transformer", "logger=none", f"hydra.run.dir={tmp_path}")
    assert proc.returncode != 0
    assert "transformer" in proc.stderr and "bilstm" in proc.stderr and "avg_ch" in proc.stderr


@pytest.mark.parametrize(
    "override,message",
    [
        ("summarizer.hidden_size=0", "hidden_size must be a positive integer, got 0"),
        ("summarizer.dropout=1.5", "dropout must be in [0, 1), got 1.5"),
    ],
)
def test_bad_setting_fails_before_training_in_one_line(tmp_path, override, message):
    proc = run_train("summarizer=lstm_h", override, "logger=none", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "checkpoints").exists()


def test_lightnings_advertising_line_is_dropped_and_its_other_messages_kept():
    import logging

    from lightning import Trainer

    from src.utils.cli import log_lightning_through_root

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    log_lightning_through_root()
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    keep = Keep()
    rank_zero.addHandler(keep)
    try:
        Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    finally:
        rank_zero.removeHandler(keep)
    assert any("GPU available" in m for m in keep.messages), keep.messages  # Lightning still speaks
    assert not any("litlogger" in m for m in keep.messages), keep.messages
