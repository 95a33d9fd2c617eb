"""Each dataset judged by its own metric (results.json ``metric`` and ``test/<metric>``, issue 24 §4)
and the majority-class row, on hand-made sweeps whose ranking by accuracy and by the metric differ."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from src.model.majority import constant_score, majority_key
from src.report import main, write_report
from src.report.metrics import add_scores, majority_row
from src.utils.errors import UserError
from tests.test_report_benchmark import _job


def _set(job_dir, **fields):
    """Add or replace fields of a job's results.json (``test_mcc`` -> ``test/mcc``)."""
    path = job_dir / "results.json"
    results = json.loads(path.read_text())
    results.update({k.replace("test_", "test/", 1): v for k, v in fields.items()})
    path.write_text(json.dumps(results))


def _mixed_sweep(tmp_path, majority=True):
    """mr and trec by accuracy; cola by MCC, where mean has the better accuracy and lstm_h the better
    MCC (mean answers the majority class more often); rnn between them everywhere."""
    sweep = tmp_path / "sweep"
    i = 0
    for seed in (0, 1):
        for data, accs in [("mr", (0.70, 0.75, 0.80)), ("trec", (0.80, 0.85, 0.90)), ("cola", (0.72, 0.70, 0.69))]:
            for (summarizer, acc), mcc in zip(zip(["mean", "rnn", "lstm_h"], accs), (0.10, 0.25, 0.40)):
                _job(sweep, f"{i}_{summarizer}", summarizer, seed, data, acc + 0.01 * seed)
                if data == "cola":
                    extra = {"test_majority_mcc": 0.0, "test_majority_acc": 0.691} if majority else {}
                    _set(sweep / f"{i}_{summarizer}", metric="mcc", test_mcc=mcc + 0.01 * seed, **extra)
                i += 1
    return sweep


def test_each_dataset_is_ranked_and_tested_by_its_own_metric_with_a_majority_row(tmp_path):
    sweep = _mixed_sweep(tmp_path)
    text = write_report(sweep, plots=False)
    header = "| summarizer | mr accuracy % | trec accuracy % | cola MCC % | mean of the sets' metrics % | avg rank |"
    assert header in text
    # on cola lstm_h is best by MCC (40.5) though last by accuracy: bold, and ranked 1 there
    assert "| lstm_h | **80.5 ± 6.4** | **90.5 ± 6.4** | **40.5 ± 6.4** |" in text
    assert "| mean | 70.5 ± 6.4 \\* | 80.5 ± 6.4 \\* | 10.5 ± 6.4 \\* |" in text
    assert "| mean | 3.0 | 3.0 | 3.0 | 3.00 |" in text  # ranks by MCC on cola, not by accuracy
    # the majority row: recorded by the run for cola, worked out from the test labels (†) for the others
    assert "| *majority class* | 50.0 † | 50.0 † | 0.0 |  |  |" in text
    # cola's own section: its metric first, accuracy beside, the recorded majority row with both
    cola = text[text.index("## Dataset `cola`") :]
    assert "### Test MCC" in cola and "| summarizer | seeds | test MCC % (95% CI) | test acc % (95% CI) |" in cola
    assert "| *majority class* |  | 0.0 | 69.1 |" in cola
    assert "Judged by MCC (this dataset's metric" in cola
    assert "*Majority class*: always answering the train split's most frequent class" in cola
    matrix = pd.read_csv(sweep / "matrix.csv").set_index("summarizer")
    assert matrix.loc["lstm_h", "cola/metric"] == "mcc" and matrix.loc["lstm_h", "cola/score"] == pytest.approx(0.405)
    assert matrix.loc["lstm_h", "cola/rank"] == 1 and matrix.loc["mean", "mr/metric"] == "accuracy"
    summary = pd.read_csv(sweep / "summary.csv").set_index(["data", "variant"])
    assert summary.loc[("cola", "lstm_h"), "best"] and not summary.loc[("cola", "mean"), "best"]
    results = pd.read_csv(sweep / "results.csv")
    assert set(results.loc[results["data"] == "mr", "metric"]) == {"accuracy"}  # none named: accuracy


def test_a_single_dataset_sweep_judged_by_macro_f1_and_no_bootstrap_for_it(tmp_path):
    sweep = tmp_path / "sweep"
    for i, (summarizer, acc, f1) in enumerate([("mean", 0.80, 0.55), ("lstm_h", 0.78, 0.70)]):
        _job(sweep, f"{i}_{summarizer}", summarizer, 0, "imbalanced", acc)
        _set(sweep / f"{i}_{summarizer}", metric="macro_f1", test_macro_f1=f1)
    text = write_report(sweep, plots=False)
    assert "| **lstm_h** | 1 | 70.0 | 78.0 |" in text  # best by macro-F1, not by accuracy
    # one seed and a metric that is no per-example mean: no paired test (a bootstrap is for accuracy)
    assert "| mean | 1 | 55.0 | 80.0 | 80.0 | 1,000 | 1.0 | 500 | 0.0 | – |" in text
    # test labels alternate 0/1: always answering 0 gets 50% accuracy, macro-F1 (2/3 + 0) / 2 = 33.3%
    assert "| *majority class* † |  | 33.3 | 50.0 |" in text


def test_macro_f1_falls_back_to_test_f1():
    jobs = pd.DataFrame(
        [{"job": "0_mean", "status": "ok", "metric": "macro_f1", "test/f1": 0.6, "test/acc": 0.7}]
        + [{"job": "1_mean", "status": "failed", "metric": None}]
    )
    scored = add_scores(jobs)
    assert scored["score"].iloc[0] == 0.6 and scored["metric"].tolist() == ["macro_f1", "accuracy"]


def test_the_score_of_always_answering_one_class():
    labels = [0, 0, 0, 1]
    assert constant_score(labels, 0, "accuracy") == 0.75
    assert constant_score(labels, 0, "macro_f1") == pytest.approx((2 * 0.75 / 1.75 + 0) / 2)
    assert constant_score(labels, 0, "mcc") == 0.0
    assert constant_score(labels, 1, "accuracy") == 0.25
    assert majority_key("accuracy") == "test/majority_acc" and majority_key("mcc") == "test/majority_mcc"
    # from predictions: the test split's most frequent class, per job, averaged
    predictions = pd.DataFrame({"job": ["a"] * 4 + ["b"] * 4, "label": [0, 0, 0, 1, 1, 1, 0, 1]})
    jobs = pd.DataFrame({"status": ["ok"]})
    assert majority_row(jobs, predictions, "accuracy") == {"score": 0.75, "accuracy": 0.75, "source": "test"}
    assert majority_row(jobs, pd.DataFrame(), "accuracy") is None


def test_bad_metric_names_and_mixed_metrics_are_one_line_errors(tmp_path, capsys):
    sweep = _mixed_sweep(tmp_path)
    _set(sweep / "0_mean", metric="auc")
    with pytest.raises(SystemExit) as exit_info:
        main([str(sweep)])
    assert exit_info.value.code == 2
    assert "error: 0_mean/results.json: metric 'auc' is none of accuracy, macro_f1, mcc" in capsys.readouterr().err
    _set(sweep / "0_mean", metric="mcc", test_mcc=0.2)  # mr: one job by MCC, the others by accuracy
    with pytest.raises(UserError, match=r"dataset mr: its jobs name different metrics \(mcc, accuracy\)"):
        write_report(sweep, plots=False)
    _set(sweep / "2_lstm_h", metric="mcc")  # no test/mcc: nothing to rank it by
    _set(sweep / "0_mean", metric="accuracy")
    with pytest.raises(UserError, match="2_lstm_h/results.json: metric mcc but no test/mcc value"):
        write_report(sweep, plots=False)
