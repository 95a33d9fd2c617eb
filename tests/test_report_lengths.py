"""Accuracy by length on long, truncated documents (issue 24 §3): buckets by the document's length
before truncation when predictions.csv has ``full_length``, a caption saying how many inputs the
runs' ``data.max_length`` cut, and the report of a single run's own dir."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from src.report import main, write_report


def _run_dir(path, full_length=True, max_length=50, n=200):
    """One src.train run's dir: reviews of 5-1000 tokens cut to ``max_length``; right on every review
    of up to 300 tokens, wrong on the longer ones."""
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "config.yaml").write_text(f"data:\n  name: imdb\n  max_length: {max_length}\n")
    full = np.linspace(5, 1000, n).round().astype(int)
    label = np.arange(n) % 2
    pred = np.where(full <= 300, label, 1 - label)
    frame = pd.DataFrame({"index": np.arange(n), "label": label, "pred": pred, "length": np.minimum(full, max_length)})
    if full_length:
        frame["full_length"] = full
    frame.to_csv(path / "predictions.csv", index=False)
    acc = float((pred == label).mean())
    results = {"summarizer": "lstm_h", "seed": 0, "data": "imdb", "test/acc": acc, "test/f1": acc, "status": "ok"}
    (path / "results.json").write_text(json.dumps(results))
    return path


def test_a_single_runs_dir_gets_accuracy_by_its_documents_real_length(tmp_path, capsys):
    run = _run_dir(tmp_path / "run")
    assert main([str(run)]) == 0
    text = (run / "report.md").read_text()
    assert "Data: **imdb**. Jobs: 1 (1 ok, 0 failed)." in text
    # quintiles of 5..1000: right up to 300 tokens, wrong beyond (the model read only the first 50)
    assert "| lstm_h | 100.0 | 50.0 | 0.0 | 0.0 | 0.0 |" in text
    assert "| 5-204 tokens (n=40) |" in text and "| 802-1000 tokens (n=40) |" in text
    assert (
        "Length: each document's tokens before truncation (predictions.csv `full_length`); the models read at most "
        "data.max_length=50 of them (95% of the test inputs were cut)."
    ) in text
    assert (run / "length_buckets.png").stat().st_size > 10_000
    assert pd.read_csv(run / "results.csv")["job"].tolist() == ["."]


def test_without_full_length_the_caption_says_how_many_reached_the_limit(tmp_path):
    run = _run_dir(tmp_path / "run", full_length=False)
    text = write_report(run, plots=False)
    # every length above 50 reads as 50: the buckets collapse and the caption says why
    assert "| summarizer | 5-50 tokens (n=200) |" in text
    assert "after data.max_length=50 truncation: 96% of the test inputs reached the limit" in text
    short = _run_dir(tmp_path / "short", full_length=False, max_length=5000)
    assert "(no test input reached data.max_length=5000)" in write_report(short, plots=False)
