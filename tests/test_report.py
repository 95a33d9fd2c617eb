"""The sweep report's statistics, tables and plots, on hand-made job dirs with known answers, and
the order-sensitivity probe (word shuffling) it reports."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from src.model.module import SentenceClassifier, shuffle_words
from src.report import PLOTS, load_jobs, main, paired_bootstrap, paired_t_test, t_interval, write_report


# ------------------------------------------------------------------------------------ order probe
def test_shuffle_words_permutes_only_real_tokens_and_depends_only_on_the_example():
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12], [3, 4, 5, 0, 0, 0, 0, 0]])
    lengths, index = torch.tensor([8, 3]), torch.tensor([17, 4])
    shuffled = shuffle_words(ids, lengths, index)
    for row, n in enumerate(lengths.tolist()):
        assert sorted(shuffled[row, :n].tolist()) == sorted(ids[row, :n].tolist())
        assert shuffled[row, n:].tolist() == ids[row, n:].tolist()  # padding untouched
    assert shuffled[0].tolist() != ids[0].tolist()
    # the same example shuffles the same way in another batch, at another row
    alone = shuffle_words(ids[:1].flip(0), lengths[:1], index[:1])
    again = shuffle_words(torch.stack([ids[1], ids[0]]), lengths.flip(0), index.flip(0))
    assert alone[0].tolist() == shuffled[0].tolist() == again[1].tolist()
    # another example index (or seed) gives another order
    assert shuffle_words(ids[:1], lengths[:1], torch.tensor([18]))[0].tolist() != shuffled[0].tolist()
    assert shuffle_words(ids[:1], lengths[:1], index[:1], seed=99)[0].tolist() != shuffled[0].tolist()


def _model(summarizer: dict) -> SentenceClassifier:
    torch.manual_seed(0)
    model = SentenceClassifier(
        summarizer=summarizer, vocab_size=50, num_classes=3, embedding={"dim": 8}, head={"width": 8, "depth": 1}
    )
    return model.eval()


def test_mean_predictions_do_not_change_when_words_are_shuffled_but_an_lstms_do():
    generator = torch.Generator().manual_seed(1)
    lengths = torch.randint(3, 20, (64,), generator=generator)
    ids = torch.randint(1, 50, (64, 20), generator=generator) * (torch.arange(20) < lengths[:, None])
    shuffled = shuffle_words(ids, lengths, torch.arange(64))
    assert (shuffled != ids).any()
    with torch.no_grad():
        mean = _model({"_target_": "src.summarizers.MeanSummarizer"})
        assert torch.allclose(mean(ids, lengths), mean(shuffled, lengths), atol=1e-5)
        assert torch.equal(mean(ids, lengths).argmax(-1), mean(shuffled, lengths).argmax(-1))
        lstm = _model({"_target_": "src.summarizers.LSTMSummarizer", "hidden_size": 8, "state": "h"})
        assert not torch.allclose(lstm(ids, lengths), lstm(shuffled, lengths), atol=1e-3)


# ------------------------------------------------------------------------------------ statistics
def test_t_interval_matches_the_hand_computed_value():
    mean, half = t_interval([0.80, 0.82, 0.84])
    # sd 0.02, sem 0.02 / sqrt(3), t(0.975, df=2) = 4.302653
    assert mean == pytest.approx(0.82) and half == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-5)
    assert math.isnan(t_interval([0.7])[1]) and t_interval([0.7])[0] == pytest.approx(0.7)
    assert t_interval([0.5, None, 0.7])[0] == pytest.approx(0.6)


def test_paired_t_test():
    # differences -0.20, -0.21, -0.19: t = -0.2 / (0.01 / sqrt(3)) = -34.64, df 2 -> p = 0.000833
    assert paired_t_test([0.60, 0.62, 0.64], [0.80, 0.83, 0.83]) == pytest.approx(0.000833, rel=1e-2)
    assert paired_t_test([0.6, 0.7, 0.8], [0.6, 0.7, 0.8]) == 1.0
    assert paired_t_test([0.6, 0.7], [0.5, 0.6]) == 0.0
    assert paired_t_test([0.60, 0.70, 0.65], [0.62, 0.66, 0.66]) > 0.5  # noise, no difference


def test_paired_bootstrap_separates_a_real_difference_from_noise():
    better = np.r_[np.ones(90), np.zeros(10)]
    worse = np.r_[np.ones(60), np.zeros(40)]  # wrong on 30 examples the other gets right
    diff, p, (low, high) = paired_bootstrap(better, worse)
    assert diff == pytest.approx(0.30) and p < 0.001 and 0.2 < low < 0.3 < high < 0.4
    assert paired_bootstrap(better, better)[1] == 1.0
    one_apart = np.r_[np.ones(501), np.zeros(499)], np.r_[np.ones(500), np.zeros(500)]
    diff, p, _ = paired_bootstrap(*one_apart)
    assert diff == pytest.approx(0.001) and p > 0.5


# ------------------------------------------------------------------------------------ report
def _job(sweep, name, summarizer, seed, acc=None, status="ok", error=None, lr="0.003", n_test=100):
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(
        f"- summarizer={summarizer}\n- seed={seed}\n- model.optimizer.lr={lr}\n"
    )
    if status is None:  # killed: no results.json at all
        return
    if status != "ok":
        (job / "results.json").write_text(
            json.dumps({"summarizer": summarizer, "seed": seed, "status": status, "error": error})
        )
        return
    index = np.arange(n_test)
    correct = index < round(acc * n_test)  # examples 0..k-1 right; length = index + 1
    label = index % 2
    pred = np.where(correct, label, 1 - label)
    shuffled_pred = pred if summarizer == "mean" else np.where(index % 4 == 0, 1 - pred, pred)
    pd.DataFrame(
        {"index": index, "label": label, "pred": pred, "pred_shuffled": shuffled_pred, "length": index + 1}
    ).to_csv(job / "predictions.csv", index=False)
    acc_shuffled = float((shuffled_pred == label).mean())
    (job / "results.json").write_text(
        json.dumps(
            {
                "summarizer": summarizer,
                "seed": seed,
                "data": "toy",
                "test/acc": acc,
                "test/f1": acc - 0.01,
                "val/acc_best": acc + 0.01,
                "test/acc_order_free": acc + 0.05,
                "test/acc_shuffled": acc_shuffled,
                "test/order_drop": acc - acc_shuffled,
                "params": 1000 if summarizer == "mean" else 50_000,
                "train_seconds": 10.0,
                "tokens_per_second": 9000.0 if summarizer == "mean" else 3000.0,
                "epochs": 3,
                "status": "ok",
            }
        )
    )
    (job / "csv").mkdir()
    pd.DataFrame(
        {
            "epoch": [0, 0, 1, 1, 2],
            "step": [3, 3, 7, 7, 9],
            "val/acc": [acc - 0.1, None, acc - 0.05, None, acc],
            "train/loss": [None, 0.7, None, 0.6, None],
        }
    ).to_csv(job / "csv" / "metrics.csv", index=False)


@pytest.fixture
def sweep(tmp_path):
    """mean (62%) and lstm_h (~82%) over three seeds, one failed job and one killed job."""
    sweep = tmp_path / "sweep"
    for i, (summarizer, seed, acc) in enumerate(
        [
            ("mean", 0, 0.60),
            ("mean", 1, 0.62),
            ("mean", 2, 0.64),
            ("lstm_h", 0, 0.80),
            ("lstm_h", 1, 0.83),
            ("lstm_h", 2, 0.83),
        ]
    ):
        _job(sweep, f"{i}_{summarizer}", summarizer, seed, acc)
    _job(sweep, "6_rnn", "rnn", 0, status="failed", error="ConfigError: RNNSummarizer: hidden_size must be positive")
    _job(sweep, "7_rnn", "rnn", 1, status=None)
    return sweep


def test_report_table_statistics_and_failed_jobs(sweep):
    text = write_report(sweep)
    assert (sweep / "report.md").read_text() == text
    jobs = pd.read_csv(sweep / "results.csv")
    assert len(jobs) == 8 and jobs["status"].tolist().count("ok") == 6
    assert jobs.loc[jobs["job"] == "7_rnn", "error"].item().startswith("no results.json")
    summary = pd.read_csv(sweep / "summary.csv").set_index("variant")
    assert summary.index.tolist() == ["mean", "lstm_h"]  # the course's order, not alphabetical
    lstm, mean = summary.loc["lstm_h"], summary.loc["mean"]
    assert lstm["best"] and not mean["best"]
    assert mean["test_acc"] == pytest.approx(0.62) and mean["seeds"] == 3
    assert mean["test_acc_ci"] == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-5)
    assert mean["diff_vs_best"] == pytest.approx(-0.20) and mean["p_vs_best"] == pytest.approx(0.000833, rel=1e-2)
    assert mean["test_vs_best"] == "paired t-test, 3 seeds"
    assert mean["order_sensitivity"] == pytest.approx(0.0)  # mean's predictions never move
    assert lstm["order_sensitivity"] > 0.1
    assert mean["acc_order_free"] == pytest.approx(0.67)
    assert "acc_shuffled" in summary and "acc_order_free" in summary  # the probe is not a subset
    assert "| **lstm_h** | 3 | 82.0 ± 4.3 |" in text
    assert (
        "| mean | 3 | 62.0 ± 5.0 | 67.0 ± 5.0 | 61.0 | 1,000 | 10.0 | 9,000 | 0.0 ± 0.0 | -20.0, p=0.000832 **\\*** |"
    ) in text
    assert "`6_rnn` (rnn, seed 0): ConfigError: RNNSummarizer: hidden_size must be positive" in text
    assert "`7_rnn` (rnn, seed 1): no results.json" in text
    assert "Jobs: 8 (6 ok, 2 failed)" in text


def test_report_accuracy_by_length_bucket(sweep):
    text = write_report(sweep, plots=False)
    # lengths 1..100 in quintiles; mean gets lengths <= 60, 62, 64 right (seeds 0-2), lstm_h <= 80, 83, 83
    assert "| mean | 100.0 | 100.0 | 100.0 | 10.0 | 0.0 |" in text
    assert "| lstm_h | 100.0 | 100.0 | 100.0 | 100.0 | 10.0 |" in text
    assert "| 1-21 tokens (n=63) | 22-41 tokens (n=60) | 42-60 tokens (n=57) |" in text  # 3 seeds x 21, ...
    assert "81-100 tokens (n=60)" in text
    assert not (sweep / "accuracy.png").exists()


def test_report_plots_are_written(sweep):
    assert main([str(sweep)]) == 0
    for name in PLOTS:
        data = (sweep / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000, name
        assert f"]({name})" in (sweep / "report.md").read_text()


def test_single_seed_compares_by_paired_bootstrap_over_test_examples(tmp_path):
    _job(tmp_path, "0_mean", "mean", 0, 0.60)
    _job(tmp_path, "1_lstm_h", "lstm_h", 0, 0.90)
    _job(tmp_path, "2_rnn", "rnn", 0, 0.89)
    write_report(tmp_path, plots=False)
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("variant")
    assert math.isnan(summary.loc["mean", "test_acc_ci"])
    assert summary.loc["mean", "test_vs_best"] == "paired bootstrap, 100 examples"
    assert summary.loc["mean", "diff_vs_best"] == pytest.approx(-0.30) and summary.loc["mean", "p_vs_best"] < 0.01
    assert summary.loc["rnn", "p_vs_best"] > 0.3  # one example apart: not significant


def test_jobs_differing_in_more_than_seed_are_separate_rows(tmp_path):
    for i, lr in enumerate(["0.001", "0.0123456", "0.001"]):
        _job(tmp_path, f"{i}_lstm_h", "lstm_h", i, 0.7 + i / 100, lr=lr)
    jobs = load_jobs(tmp_path)
    assert jobs["variant"].tolist() == [
        "lstm_h optimizer.lr=0.001",
        "lstm_h optimizer.lr=0.0123",
        "lstm_h optimizer.lr=0.001",
    ]


def test_cli_rejects_a_missing_dir(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "nope")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: usage: python -m src.report SWEEP_DIR") and "not a directory" in err
    assert main([str(tmp_path)]) == 0  # empty sweep: says so instead of failing
    assert "No jobs found" in (tmp_path / "report.md").read_text()


def test_an_interrupted_job_is_counted_and_listed_apart_from_failures(sweep):
    _job(
        sweep,
        "8_rnn",
        "rnn",
        2,
        status="interrupted",
        error="SIGTERM at epoch 1, step 6; resume with: python -m src.train ckpt_path=x/last.ckpt",
    )
    text = write_report(sweep)
    assert "Jobs: 9 (6 ok, 2 failed, 1 interrupted)" in text
    assert "`8_rnn` (rnn, seed 2): interrupted: SIGTERM at epoch 1" in text
    assert "rnn" not in pd.read_csv(sweep / "summary.csv")["variant"].tolist()  # never a result
