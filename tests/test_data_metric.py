"""data.metric: the metric a set is judged by (accuracy, macro_f1, mcc; src/model/metrics.py), exposed as
datamodule.metric, logged as val/<metric> and test/<metric>, recorded in results.json as `metric` and
`test/<metric>`, followed by checkpoints, early stopping and the LR scheduler; a bad name is one line."""

from __future__ import annotations

import json

import hydra
import pytest
import torch
from omegaconf import open_dict
from sklearn.metrics import f1_score, matthews_corrcoef

from src.data.datamodule import ConfigError, FilesDataModule
from src.model.majority import majority_class, majority_scores
from src.model.metrics import METRICS, make_metric, monitor
from src.utils.errors import find_user_error
from tests.helpers import TINY, compose_train_config

# a 70/30 set answered with its majority class, and a better-than-constant answer
LABELS = torch.tensor([0] * 7 + [1] * 3)
MAJORITY = torch.zeros(10, dtype=torch.long)
SOME = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 0])


@pytest.mark.parametrize("preds", [MAJORITY, SOME], ids=["majority", "some"])
def test_the_metrics_agree_with_scikit_learn(preds):
    values = {name: float(make_metric(name, 2)(preds, LABELS)) for name in METRICS}
    assert values["accuracy"] == pytest.approx(float((preds == LABELS).float().mean()))
    assert values["macro_f1"] == pytest.approx(f1_score(LABELS, preds, average="macro", zero_division=0))
    assert values["mcc"] == pytest.approx(matthews_corrcoef(LABELS, preds))


def test_the_majority_answer_scores_70_percent_accuracy_and_no_correlation():
    assert float(make_metric("accuracy", 2)(MAJORITY, LABELS)) == pytest.approx(0.7)
    assert float(make_metric("mcc", 2)(MAJORITY, LABELS)) == 0.0


def test_the_majority_row_answers_the_train_majority_on_the_test_labels():
    # train says class 1; the test split's own majority is class 0: the row scores the train answer
    train, test = [1, 1, 1, 0, 2], [0, 0, 0, 1, 2]
    assert majority_class(train) == 1 and majority_class([2, 0, 0, 2]) == 0  # ties: the smallest id
    scores = majority_scores(train, test, "macro_f1")
    assert scores == {
        "test/majority_acc": pytest.approx(0.2),
        "test/majority_macro_f1": pytest.approx(f1_score(test, [1] * 5, average="macro", zero_division=0)),
    }
    assert majority_scores(train, test, "mcc")["test/majority_mcc"] == 0.0
    assert list(majority_scores(train, test)) == ["test/majority_acc"]


def test_an_unknown_metric_is_a_one_line_config_error(tmp_path, train_config):
    message = "data.metric must be one of accuracy, macro_f1, mcc, got 'auc'"
    with pytest.raises(ConfigError, match=rf"^{message}$"):
        FilesDataModule(data_dir=str(tmp_path), metric="auc")
    cfg = train_config("data.metric=auc")
    with pytest.raises(Exception) as info:
        hydra.utils.instantiate(cfg.data)
    assert str(find_user_error(info.value)) == message


@pytest.mark.parametrize("config", ["synthetic", "files", "hub", "mr", "trec50", "imdb"])
def test_every_data_config_names_a_metric_and_the_classic_sets_stay_on_accuracy(train_config, config):
    assert train_config(f"data={config}").data.metric == "accuracy"


@pytest.mark.parametrize("metric, key", [("accuracy", "val/acc"), ("macro_f1", "val/macro_f1"), ("mcc", "val/mcc")])
def test_checkpoints_early_stopping_and_the_scheduler_follow_the_metric(train_config, metric, key):
    cfg = train_config(f"data.metric={metric}")
    assert monitor(metric) == key
    assert cfg.callbacks.model_checkpoint.monitor == key and cfg.callbacks.early_stopping.monitor == key
    assert cfg.model.scheduler_monitor == key


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["macro_f1", "accuracy"])
def test_a_run_logs_the_metric_and_records_it_in_results_json(tmp_path, metric):
    from src.train import train

    cfg = compose_train_config([*TINY, "summarizer=mean", f"data.metric={metric}", "logger=csv"], tmp_path)
    with open_dict(cfg):
        del cfg["hydra"]
    train(cfg)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["metric"] == metric and 0.0 <= results[f"test/{metric}"] <= 1.0
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")
    expected = majority_scores(dm.splits["train"].labels, dm.splits["test"].labels, metric)
    assert {k: results[k] for k in expected} == pytest.approx(expected)  # the report's majority row
    if metric == "accuracy":
        assert results["test/accuracy"] == pytest.approx(results["test/acc"])
    else:  # the same F1 as test/f1 (macro), under the metric's own key
        assert results["test/macro_f1"] == pytest.approx(results["test/f1"])
    columns = next((tmp_path / "csv").rglob("metrics.csv")).read_text().splitlines()[0].split(",")
    assert f"val/{metric}" in columns and f"test/{metric}" in columns


def test_mcc_over_many_classes_agrees_with_scikit_learn():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (200,), generator=generator)
    preds = torch.where(
        torch.rand(200, generator=generator) < 0.6, labels, torch.randint(0, 5, (200,), generator=generator)
    )
    assert float(make_metric("mcc", 5)(preds, labels)) == pytest.approx(matthews_corrcoef(labels, preds), abs=1e-6)
    assert float(make_metric("mcc", 5)(torch.full((200,), 3), labels)) == 0.0  # a constant answer
