"""The cross-dataset report: rank statistics on Demšar's (2006) textbook example, the matrix,
ranks.png and the heatmap on hand-made sweeps over several datasets, failed jobs, folds as
replicates, published anchors, the W&B report run, and one real tiny multirun (slow)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from src.report import main, write_report
from src.report.anchors import ANCHORS_CSV, anchors_for, load_anchors
from src.report.ranking import iman_davenport, rank_test, ranks_per_dataset, why_not_tested

# ------------------------------------------------------------------------------------ rank statistics
# Demšar (2006), JMLR 7, Table 6: AUC of C4.5 with m = 0 and with m and/or cf tuned, 14 UCI datasets.
DEMSAR_METHODS = ["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"]
DEMSAR_AUC = [
    [0.763, 0.768, 0.771, 0.798],  # adult (sample)
    [0.599, 0.591, 0.590, 0.569],  # breast cancer
    [0.954, 0.971, 0.968, 0.967],  # breast cancer wisconsin
    [0.628, 0.661, 0.654, 0.657],  # cmc
    [0.882, 0.888, 0.886, 0.898],  # ionosphere
    [0.936, 0.931, 0.916, 0.931],  # iris
    [0.661, 0.668, 0.609, 0.685],  # liver disorders
    [0.583, 0.583, 0.563, 0.625],  # lung cancer
    [0.775, 0.838, 0.866, 0.875],  # lymphography
    [1.000, 1.000, 1.000, 1.000],  # mushroom
    [0.940, 0.962, 0.965, 0.962],  # primary tumor
    [0.619, 0.666, 0.614, 0.669],  # rheum
    # voting: the table prints 0.975 for both C4.5+cf and C4.5+m+cf but ranks them 2 and 3 (the
    # unrounded values differ); 0.9751 breaks the tie the way the paper's ranks do.
    [0.972, 0.981, 0.9751, 0.975],
    [0.957, 0.978, 0.946, 0.970],  # wine
]


def demsar_matrix() -> pd.DataFrame:
    return pd.DataFrame(np.array(DEMSAR_AUC).T, index=DEMSAR_METHODS)  # methods x datasets


def test_average_ranks_friedman_and_critical_difference_match_demsar_2006():
    test = rank_test(demsar_matrix())
    assert test.average_ranks.round(3).tolist() == [3.143, 2.000, 2.893, 1.964]
    # "chi2_F = 12*14/(4*5) [(3.143^2 + 2.000^2 + 2.893^2 + 1.964^2) - 4*5^2/4] = 9.28",
    # "F_F = 13*9.28/(14*3-9.28) = 3.69"
    assert test.chi2_uncorrected == pytest.approx(9.28, abs=0.005)
    assert iman_davenport(test.chi2_uncorrected, 14, 4)[0] == pytest.approx(3.69, abs=0.005)
    # scipy's statistic is the same one corrected for ties (mushroom's four-way tie, three two-way ties)
    ties = 1 - (4**3 - 4 + 3 * (2**3 - 2)) / (14 * 4 * (4**2 - 1))
    assert test.chi2 * ties == pytest.approx(test.chi2_uncorrected, rel=1e-9)
    assert test.p < 0.05
    # Nemenyi: q_0.05 = 2.569, CD = 2.569 sqrt(4*5 / (6*14)) = 1.25, and no pair differs at 0.05
    assert test.cd == pytest.approx(1.25, abs=0.005)
    assert (test.nemenyi.to_numpy() >= 0.05).all()
    assert rank_test(demsar_matrix(), alpha=0.10).cd == pytest.approx(1.12, abs=0.005)


def test_friedman_on_a_hand_computable_matrix_and_the_minimum_sizes():
    # three methods in the same order on four datasets: ranks 1, 2, 3; chi2 = 12*4/(3*4) * (1+4+9 - 12) = 8
    accuracy = pd.DataFrame(
        {"d1": [0.9, 0.5, 0.1], "d2": [0.8, 0.5, 0.2], "d3": [0.7, 0.4, 0.1], "d4": [0.9, 0.5, 0.0]},
        index=["a", "b", "c"],
    )
    test = rank_test(accuracy)
    assert test.average_ranks.tolist() == [1.0, 2.0, 3.0]
    assert test.chi2 == pytest.approx(8.0) and test.chi2_uncorrected == pytest.approx(8.0)
    assert test.p == pytest.approx(math.exp(-4))
    ties = pd.DataFrame({"d1": [0.8, 0.8, 0.6], "d2": [0.5, 0.7, 0.7]}, index=["a", "b", "c"])
    assert ranks_per_dataset(ties).to_dict("list") == {"d1": [1.5, 1.5, 3.0], "d2": [3.0, 1.5, 1.5]}
    assert why_not_tested(2, 7).startswith("only 2 datasets") and why_not_tested(5, 2).startswith("only 2 summarizers")
    assert why_not_tested(3, 3) is None
    with pytest.raises(ValueError, match="at least 3"):
        rank_test(ties)


# ------------------------------------------------------------------------------------ fake sweeps
def _job(
    sweep, name, summarizer, seed, data, acc=None, status="ok", error=None, fold=None, n_test=100, results_name=True
):
    """One job dir as src.train leaves it: overrides, the saved config, results.json, predictions."""
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    overrides = [f"summarizer={summarizer}", f"seed={seed}", f"data.data_dir=/data/{data}"]
    overrides += [f"data.fold={fold}"] if fold is not None else []
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (job / ".hydra" / "config.yaml").write_text(f"data:\n  name: null\n  data_dir: /data/{data}\n")
    if status is None:  # killed
        return
    if status != "ok":  # src.train's failed results.json has no `data`
        (job / "results.json").write_text(
            json.dumps({"summarizer": summarizer, "seed": seed, "status": status, "error": error})
        )
        return
    index = np.arange(n_test)
    label = index % 2
    pred = np.where(index < round(acc * n_test), label, 1 - label)
    pd.DataFrame(
        {"index": index, "label": label, "pred": pred, "pred_shuffled": pred, "length": index % 30 + 1}
    ).to_csv(job / "predictions.csv", index=False)
    (job / "results.json").write_text(
        json.dumps(
            {
                "summarizer": summarizer,
                "seed": seed,
                **({"data": data} if results_name else {}),
                "test/acc": acc,
                "test/f1": acc,
                "val/acc_best": acc,
                "test/acc_shuffled": acc,
                "test/order_drop": 0.0,
                "params": 1000,
                "train_seconds": 1.0,
                "tokens_per_second": 500.0,
                "epochs": 2,
                "status": "ok",
            }
        )
    )
    (job / "csv").mkdir()
    pd.DataFrame({"epoch": [0, 1], "val/acc": [acc - 0.05, acc]}).to_csv(job / "csv" / "metrics.csv", index=False)


def _sweep(tmp_path, accuracies: dict, seeds=(0, 1)):
    """accuracies: {(data, summarizer): [acc per seed]}; jobs numbered in sweep order."""
    sweep = tmp_path / "sweep"
    i = 0
    for s, seed in enumerate(seeds):
        for (data, summarizer), accs in accuracies.items():
            _job(sweep, f"{i}_{summarizer}", summarizer, seed, data, accs[s])
            i += 1
    return sweep


TWO_BY_TWO = {
    ("mr", "mean"): [0.70, 0.72],
    ("mr", "lstm_h"): [0.80, 0.83],
    ("trec", "mean"): [0.86, 0.88],
    ("trec", "lstm_h"): [0.84, 0.85],
}


def test_two_datasets_two_summarizers_two_seeds_give_the_matrix(tmp_path):
    sweep = _sweep(tmp_path, TWO_BY_TWO)
    text = write_report(sweep)
    assert text.startswith("# Sweep `sweep`\n\nBenchmark over 2 datasets: **mr**, **trec**.")
    assert "| summarizer | mr accuracy % | trec accuracy % | mean % | avg rank |" in text
    # mean on mr: 71.0, t half-width 12.7 over two seeds; against lstm_h the differences -0.10, -0.11
    # give t = -21 with 1 df, p = 1 - 2 atan(21) / pi = 0.030: marked. Best per column in bold; ranks 2,1 and 1,2
    assert "| mean | 71.0 ± 12.7 \\* | **87.0 ± 12.7** | 79.0 | 1.50 |" in text
    assert "| lstm_h | **81.5 ± 19.1** | 84.5 ± 6.4 | 83.0 | 1.50 |" in text
    assert (
        "No Friedman test and no critical-difference diagram: only 2 summarizers (the Friedman test needs at "
        "least 3) and only 2 datasets with a result for every summarizer (a test across datasets needs at least 3;"
    ) in text
    assert not (sweep / "ranks.png").exists()
    heatmap = (sweep / "accuracy_heatmap.png").read_bytes()
    assert heatmap.startswith(b"\x89PNG") and len(heatmap) > 10_000
    # published anchors for the datasets of the matrix only, in their own table
    assert "| Kim 2014 CNN-rand | random | 76.1 | 91.2 | mr: 10-fold CV; trec: fixed split |" in text
    assert "79.4 |  | 10-fold CV" in text  # NBSVM has MR but no TREC figure
    # per-dataset sections keep the single-dataset report, plots named per dataset
    for d in ("mr", "trec"):
        assert f"## Dataset `{d}`" in text and f"![test accuracy](accuracy_{d}.png)" in text
        for plot in ("accuracy", "val_curves", "length_buckets", "efficiency"):
            assert (sweep / f"{plot}_{d}.png").stat().st_size > 10_000
    assert not (sweep / "accuracy.png").exists()
    results = pd.read_csv(sweep / "results.csv")
    assert results["data"].tolist() == ["mr", "mr", "trec", "trec"] * 2
    assert results["variant"].tolist() == ["mean", "lstm_h"] * 4  # the dataset's override is not a variant
    summary = pd.read_csv(sweep / "summary.csv")
    assert summary[["data", "variant"]].values.tolist() == [
        ["mr", "mean"],
        ["mr", "lstm_h"],
        ["trec", "mean"],
        ["trec", "lstm_h"],
    ]
    matrix = pd.read_csv(sweep / "matrix.csv").set_index("summarizer")
    assert matrix.loc["mean", "mr/score"] == pytest.approx(0.71) and matrix.loc["mean", "trec/rank"] == 1
    assert matrix.loc["lstm_h", "average_rank"] == pytest.approx(1.5)


def test_three_datasets_draw_the_critical_difference_diagram(tmp_path):
    accuracies = {}
    for d, offset in [("mr", 0.0), ("cr", 0.03), ("mpqa", 0.1)]:
        for k, summarizer in enumerate(["mean", "rnn", "lstm_h"]):
            accuracies[(d, summarizer)] = [0.70 + offset + 0.05 * k, 0.71 + offset + 0.05 * k + 0.01 * (k == 2)]
    sweep = _sweep(tmp_path, accuracies)
    assert main([str(sweep)]) == 0
    text = (sweep / "report.md").read_text()
    assert "Friedman test over 3 datasets and 3 summarizers: χ²_F = 6.00" in text  # same order everywhere
    assert "| mean | 3.0 | 3.0 | 3.0 | 3.00 |" in text and "| lstm_h | 1.0 | 1.0 | 1.0 | 1.00 |" in text
    assert "with 3 datasets the chi-square approximation is rough" in text
    assert "![critical-difference diagram of average ranks](ranks.png)" in text
    assert (sweep / "ranks.png").stat().st_size > 10_000
    # marks: mean trails lstm_h by 0.10 and 0.11 (p = 0.030), rnn by 0.05 and 0.06 (p = 0.058, unmarked)
    assert "| mean | 70.5 ± 6.4 \\* | 73.5 ± 6.4 \\* | 80.5 ± 6.4 \\* | 74.8 | 3.00 |" in text
    assert "| rnn | 75.5 ± 6.4 | 78.5 ± 6.4 | 85.5 ± 6.4 | 79.8 | 2.00 |" in text


def test_a_failed_job_on_one_dataset_keeps_the_other_columns_and_is_listed(tmp_path):
    sweep = _sweep(tmp_path, TWO_BY_TWO)
    # lstm_h on trec: one more seed fails; mean on a third dataset fails in every seed; one job killed
    _job(sweep, "8_lstm_h", "lstm_h", 2, "trec", status="failed", error="RuntimeError: CUDA out of memory")
    _job(sweep, "9_mean", "mean", 0, "subj", status="failed", error="DataError: subj: no 'train' split")
    _job(sweep, "10_lstm_h", "lstm_h", 0, "subj", 0.9)
    _job(sweep, "11_mean", "mean", 1, "subj", status=None)
    text = write_report(sweep)
    assert "Benchmark over 3 datasets: **mr**, **trec**, **subj**. Jobs: 12 (9 ok, 3 failed)." in text
    # mr and trec intact, no subj result
    assert "| mean | 71.0 ± 12.7 \\* | **87.0 ± 12.7** | – | 79.0 | 1.50 |" in text
    assert "| lstm_h | **81.5 ± 19.1** | 84.5 ± 6.4 | **90.0** (1 of 2) | 83.0 | 1.50 |" in text
    assert "| mean % (ranked sets) | avg rank (ranked sets) |" in text  # mean and rank over mr and trec only
    assert "not ranked (a summarizer has no successful job there): `subj`" in text
    assert "- `8_lstm_h` (lstm_h, trec, seed 2): RuntimeError: CUDA out of memory" in text
    assert "- `9_mean` (mean, subj, seed 0): DataError: subj: no 'train' split" in text
    assert "- `11_mean` (mean, subj, seed 1): no results.json" in text
    results = pd.read_csv(sweep / "results.csv").set_index("job")
    assert results.loc["9_mean", "data"] == "subj"  # from the job's saved config: results.json does not say


def test_a_seed_lost_on_one_dataset_is_shown_in_the_cell(tmp_path):
    sweep = _sweep(tmp_path, {**TWO_BY_TWO, ("trec", "lstm_h"): [0.84, 0.85]}, seeds=(0, 1))
    for job in sweep.glob("*_lstm_h"):  # lstm_h's seed 1 on trec failed
        result = json.loads((job / "results.json").read_text())
        if result["data"] == "trec" and result["seed"] == 1:
            (job / "results.json").write_text(
                json.dumps({"summarizer": "lstm_h", "seed": 1, "status": "failed", "error": "boom"})
            )
    text = write_report(sweep, plots=False)
    assert "| lstm_h | **81.5 ± 19.1** | 84.0 (1 of 2) | 82.7 | 1.50 |" in text


def test_folds_are_replicates_like_seeds(tmp_path):
    sweep = tmp_path / "sweep"
    i = 0
    for fold in range(3):
        for data, base in [("mr", 0.70), ("cr", 0.75)]:
            for summarizer, gain in [("mean", 0.0), ("lstm_h", 0.05)]:
                _job(sweep, f"{i}_{summarizer}", summarizer, 0, data, base + gain + 0.01 * fold, fold=fold)
                i += 1
    jobs_text = write_report(sweep, plots=False)
    assert "Seeds: 0. Folds: 0, 1, 2." in jobs_text
    assert "mean test score over seed × fold pairs" in jobs_text
    assert "| mean | 71.0 ± 2.5 \\* | 76.0 ± 2.5 \\* | 73.5 | 2.00 |" in jobs_text  # 3 folds each
    summary = pd.read_csv(sweep / "summary.csv").set_index(["data", "variant"])
    assert summary.loc[("mr", "mean"), "seeds"] == 3  # folds are replicates, not separate rows
    assert summary.loc[("mr", "mean"), "test_vs_best"] == "paired t-test, 3 seed×fold runs"


def test_a_dataset_named_by_its_data_config_and_no_anchor_for_unknown_sets(tmp_path):
    sweep = _sweep(
        tmp_path,
        {
            ("order_sentiment", "mean"): [0.74, 0.75],
            ("order_sentiment", "rnn"): [1.0, 1.0],
            ("order_sentiment_long", "mean"): [0.74, 0.73],
            ("order_sentiment_long", "rnn"): [0.75, 0.77],
        },
    )
    text = write_report(sweep, plots=False)
    assert "| summarizer | order_sentiment accuracy % | order_sentiment_long accuracy % |" in text
    assert "Published, not run here" not in text


def test_anchors_file_has_the_published_numbers_with_their_protocols():
    anchors = load_anchors(ANCHORS_CSV)
    assert set(anchors["init"]) <= {"random", "pretrained", "none (n-grams)"}
    assert anchors["accuracy"].between(30, 100).all() and anchors["source"].str.len().gt(0).all()
    table = anchors.set_index(["method", "dataset"])["accuracy"]
    expected = {
        "Kim 2014 CNN-rand": {
            "mr": 76.1,
            "cr": 79.8,
            "mpqa": 83.4,
            "sst2": 82.7,
            "sst5": 45.0,
            "subj": 89.6,
            "trec": 91.2,
        },
        "Kim 2014 CNN-non-static": {
            "mr": 81.5,
            "cr": 84.3,
            "mpqa": 89.5,
            "sst2": 87.2,
            "sst5": 48.0,
            "subj": 93.4,
            "trec": 93.6,
        },
        "CNN-rand re-run (sent-conv-torch)": {"mr": 75.9, "cr": 78.3, "mpqa": 84.6, "trec": 88.2},
        "NBSVM-bi (Wang & Manning 2012)": {"mr": 79.4, "cr": 81.8, "mpqa": 86.3, "subj": 93.2},
    }
    for method, values in expected.items():
        for dataset, accuracy in values.items():
            assert table[(method, dataset)] == accuracy, (method, dataset)
    assert set(anchors_for(["rotten_tomatoes", "toy"])["data"]) == {"rotten_tomatoes"}  # an alias of MR


def test_the_report_run_logs_the_matrix_and_both_figures_to_wandb(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    accuracies = {
        (d, s): [0.7 + 0.05 * k + 0.02 * j, 0.71 + 0.05 * k + 0.02 * j]
        for j, d in enumerate(["mr", "cr", "trec"])
        for k, s in enumerate(["mean", "rnn", "lstm_h"])
    }
    sweep = _sweep(tmp_path, accuracies)
    write_report(sweep)
    from src.report import log_report_to_wandb
    from src.report.callback import report_datasets

    assert report_datasets(sweep) == ["mr", "cr", "trec"]
    run_dir = log_report_to_wandb(sweep, project="seq2vec", group="sweep", tags=report_datasets(sweep))
    media = list((tmp_path / "sweep" / "wandb").glob("offline-run-*/files/media/**/*"))
    names = {p.name.split("_0_")[0] for p in media if p.is_file()}
    assert {"matrix", "equivalence", "summary", "jobs", "ranks", "accuracy_heatmap", "accuracy_mr"} <= names, names
    assert run_dir


# ------------------------------------------------------------------------------------ real sweep
@pytest.mark.slow
def test_a_real_multirun_over_two_datasets_writes_the_cross_dataset_report(tmp_path):
    from tests.test_sweep import TINY, run_sweep, the_sweep_dir

    proc = run_sweep(
        "data=synthetic,synthetic_long",
        "summarizer=mean,lstm_h",
        "seed=0,1",
        *TINY,
        f"hydra.sweep.dir={tmp_path}/s_${{unique_id:}}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = the_sweep_dir(tmp_path)
    text = (sweep / "report.md").read_text()
    assert "Benchmark over 2 datasets: **order_sentiment**, **order_sentiment_long**. Jobs: 8 (8 ok, 0 failed)." in text
    assert "| summarizer | order_sentiment accuracy % | order_sentiment_long accuracy % | mean % | avg rank |" in text
    matrix = pd.read_csv(sweep / "matrix.csv").set_index("summarizer")
    assert matrix.index.tolist() == ["mean", "lstm_h"]
    assert matrix["average_rank"].sum() == pytest.approx(3.0)  # ranks 1 and 2 on each dataset
    assert "No Friedman test and no critical-difference diagram" in text  # 2 summarizers, 2 datasets
    assert (sweep / "accuracy_heatmap.png").stat().st_size > 10_000
    assert (sweep / "accuracy_order_sentiment_long.png").stat().st_size > 10_000
    assert pd.read_csv(sweep / "results.csv")["data"].value_counts().to_dict() == {
        "order_sentiment": 4,
        "order_sentiment_long": 4,
    }
