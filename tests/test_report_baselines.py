"""n-gram baselines (``python -m src.baseline``: results.json ``kind: baseline``) ranked beside the
summarizers in rows of their own, on hand-made job dirs as src.baseline leaves them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from src.report import load_jobs, write_report
from tests.test_report_benchmark import _job


def _baseline_job(sweep, name, baseline, seed, data, acc, train_seconds, n_test=100):
    """A job dir of ``python -m src.baseline -m baseline=...``: its override names the baseline, its
    predictions have no shuffled column, it has no per-epoch metrics, parameters or throughput."""
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    overrides = [f"baseline={baseline}", f"seed={seed}", f"data.data_dir=/data/{data}"]
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    index = np.arange(n_test)
    label = index % 2
    pred = np.where(index < round(acc * n_test), label, 1 - label)
    pd.DataFrame({"index": index, "label": label, "pred": pred, "length": index % 30 + 1}).to_csv(
        job / "predictions.csv", index=False
    )
    results = {
        "summarizer": baseline,
        "kind": "baseline",
        "seed": seed,
        "data": data,
        "test/acc": acc,
        "test/f1": acc,
        "val/acc": acc,
        "val/acc_best": acc,
        "settings": {"wordNgrams": 2},
        "train_seconds": train_seconds,
        "selection_seconds": 4 * train_seconds,
        "status": "ok",
    }
    (job / "results.json").write_text(json.dumps(results))


def _sweep_with_baselines(tmp_path, datasets=(("mr", 0.0), ("cr", 0.02), ("subj", 0.1))):
    """mean < rnn < lstm_h < fasttext everywhere; nbsvm between mean and rnn."""
    sweep = tmp_path / "sweep"
    i = 0
    for seed in (0, 1):
        for data, offset in datasets:
            for k, summarizer in enumerate(["mean", "rnn", "lstm_h"]):
                _job(sweep, f"{i}_{summarizer}", summarizer, seed, data, 0.70 + offset + 0.04 * k + 0.01 * seed)
                i += 1
            _baseline_job(sweep, f"{i}_fasttext", "fasttext", seed, data, 0.83 + offset + 0.01 * seed, 2.5)
            _baseline_job(sweep, f"{i + 1}_nbsvm", "nbsvm", seed, data, 0.72 + offset + 0.01 * seed, 0.5)
            i += 2
    return sweep


def test_baselines_are_ranked_beside_the_summarizers_in_rows_of_their_own(tmp_path):
    sweep = _sweep_with_baselines(tmp_path)
    text = write_report(sweep)
    matrix = text[text.index("| summarizer | mr accuracy %") :]
    rows = [line.split(" | ")[0].lstrip("| ") for line in matrix.splitlines()[2:8]]
    assert rows == ["mean", "rnn", "lstm_h", "fasttext (baseline)", "nbsvm (baseline)", "*majority class*"]
    # fastText is best on every set: bold, rank 1; its and NBSVM's train seconds beside the summarizers' 1.0
    assert "| fasttext (baseline) | **83.5 ± 6.4** | **85.5 ± 6.4** | **93.5 ± 6.4** | 87.5 | 1.00 | 2.5 |" in text
    assert "| nbsvm (baseline) | 72.5 ± 6.4 \\* | 74.5 ± 6.4 \\* | 82.5 ± 6.4 \\* | 76.5 | 4.00 | 0.5 |" in text
    assert "| mean | 70.5 ± 6.4 \\* | 72.5 ± 6.4 \\* | 80.5 ± 6.4 \\* | 74.5 | 5.00 | 1.0 |" in text
    assert "Friedman test over 3 datasets and 5 summarizers" in text
    assert (sweep / "ranks.png").stat().st_size > 10_000 and (sweep / "accuracy_heatmap.png").stat().st_size > 10_000
    # each dataset's own table: the baseline row with no parameters, throughput or order probe
    assert "| **fasttext (baseline)** | 2 | 83.5 ± 6.4 | 83.5 | – | 2.5 | – | – | best |" in text
    assert (sweep / "accuracy_mr.png").is_file() and (sweep / "efficiency_mr.png").is_file()
    matrix_csv = pd.read_csv(sweep / "matrix.csv").set_index("summarizer")
    assert matrix_csv.loc["fasttext (baseline)", "mean_train_seconds"] == 2.5
    assert matrix_csv.loc["fasttext (baseline)", "average_rank"] == 1.0


def test_a_baseline_override_is_its_name_not_a_variant(tmp_path):
    sweep = _sweep_with_baselines(tmp_path, datasets=(("mr", 0.0),))
    for job in sweep.glob("*"):  # the summarizers ran as experiment=benchmark, the baselines from src.baseline
        if "baseline" not in (job / "results.json").read_text():
            with (job / ".hydra" / "overrides.yaml").open("a") as f:
                f.write("- experiment=benchmark\n")
    jobs = load_jobs(sweep)
    assert list(dict.fromkeys(jobs["variant"])) == ["mean", "rnn", "lstm_h", "fasttext (baseline)", "nbsvm (baseline)"]
    text = write_report(sweep, plots=False)  # a single-dataset sweep: the baselines in its one table
    assert "| **fasttext (baseline)** | 2 | 83.5 ± 6.4 |" in text and "| nbsvm (baseline) | 2 | 72.5 ± 6.4 |" in text
