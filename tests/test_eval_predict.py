"""``src.eval`` and ``src.predict``: a trained checkpoint applied to other data and to raw text."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import open_dict

from src.checkpointing import CheckpointError, load_classifier
from src.data.synthetic import make_order_sentiment
from src.predict import InputError, predict_texts, read_texts
from tests.helpers import CONF_DIR, REPO, SMALL_DATA, SMALL_LSTM, compose_train_config

DATA = SMALL_DATA
SMALL = [*SMALL_LSTM, *DATA, "trainer.max_epochs=1"]
SEED = 3  # not the default 0: src.eval must take the seed (and so the built-in data) from the checkpoint
TEST_METRICS = ("test/acc", "test/f1", "test/acc_order_dependent", "test/acc_order_free")


def compose(config_name: str, overrides: list[str], output_dir: Path):
    """The config `python -m src.<config_name> <overrides>` runs with, without the hydra node."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = hydra_compose(config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained in this process: (its results, its best checkpoint)."""
    from src.train import train

    out = tmp_path_factory.mktemp("trained")
    cfg = compose_train_config(SMALL + [f"seed={SEED}"], out)
    with open_dict(cfg):
        del cfg["hydra"]
    results = train(cfg)
    return results, Path(results["best_checkpoint"])


# --------------------------------------------------------------------------- eval
@pytest.mark.slow
def test_eval_cli_repeats_the_training_runs_test_metrics(trained, tmp_path):
    results, ckpt = trained
    proc = subprocess.run(
        [sys.executable, "-m", "src.eval", f"ckpt_path={ckpt}", *DATA, f"hydra.run.dir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    scored = json.loads((tmp_path / "results.json").read_text())
    assert scored["seed"] == SEED and scored["examples"] == 100 and scored["split"] == "test"
    assert scored["label_names"] == ["negative", "positive"] and scored["summarizer"] == "lstm_h"
    for key in TEST_METRICS:
        assert scored[key] == pytest.approx(results[key], abs=1e-6), key


def test_eval_reads_a_test_file_alone_with_the_checkpoints_tokenizer_and_labels(trained, tmp_path):
    """A CSV with only a test split, string labels and rows in another order gives the same scores."""
    from src.eval import evaluate

    results, ckpt = trained
    test = make_order_sentiment(n_train=300, n_validation=100, n_test=100, seed=SEED)["test"]
    names = test.features["label"].names
    rows = list(zip(test["text"], (names[y] for y in test["label"]), test["subset"]))[::-1]
    path = tmp_path / "only_test.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([("text", "label", "subset"), *rows])
    cfg = compose(
        "eval", [f"ckpt_path={ckpt}", "data=files", f"data.test_file={path}", "data.cache_dir=null"], tmp_path / "run"
    )
    scored = evaluate(cfg)
    assert scored["data"] == "only_test" and scored["examples"] == 100
    for key in TEST_METRICS:
        assert scored[key] == pytest.approx(results[key], abs=1e-6), key
    assert json.loads((tmp_path / "run" / "results.json").read_text())["test/acc"] == scored["test/acc"]

    # a label the model does not know is a one-line error naming it and its row
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(("a new text .", "neutral", "order_free"))
    cfg = compose(
        "eval", [f"ckpt_path={ckpt}", "data=files", f"data.test_file={path}", "data.cache_dir=null"], tmp_path / "run2"
    )
    with pytest.raises(ValueError) as error:
        evaluate(cfg)
    assert type(error.value).__name__ == "DataError" and "'neutral'" in str(error.value)
    assert "row 101" in str(error.value) and "\n" not in str(error.value)


# --------------------------------------------------------------------------- predict
def test_predictions_for_empty_unknown_and_ordinary_texts(trained):
    _, ckpt = trained
    model, tokenizer, _ = load_classifier(ckpt)
    texts = ["the plot was good .", "", "   ", "zqxv blorp the", "not good but great ."]
    records = predict_texts(model, tokenizer, texts, batch_size=2)
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5] and [r["text"] for r in records] == texts
    for r in (records[1], records[2]):  # no tokens: kept in place, no answer
        assert r["label"] is None and r["probabilities"] is None and r["tokens"] == 0
    assert records[3]["unknown_words"] == 2 and records[3]["tokens"] == 3  # zqxv, blorp -> [UNK]
    assert records[0]["unknown_words"] == 0
    for r in (records[0], records[3], records[4]):
        probabilities = r["probabilities"]
        assert list(probabilities) == ["negative", "positive"]
        assert math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-5)
        assert r["label"] == max(probabilities, key=probabilities.get)
        # one text at a time gives the same answer as in a padded batch
        alone = predict_texts(model, tokenizer, [r["text"]])[0]["probabilities"]
        assert alone == pytest.approx(probabilities, abs=1e-5)
    # and it is the model's own softmax over the tokenizer's ids
    ids = torch.tensor([tokenizer.encode("the plot was good .", add_special_tokens=False).ids])
    with torch.no_grad():
        expected = torch.softmax(model(ids, torch.tensor([ids.shape[1]])), dim=-1)[0].tolist()
    assert list(records[0]["probabilities"].values()) == pytest.approx(expected, abs=1e-5)


def test_read_texts_from_lines_csv_and_tsv(tmp_path):
    (tmp_path / "a.txt").write_text("first line\n\nthird, with a comma\n")
    assert read_texts(str(tmp_path / "a.txt")) == ["first line", "", "third, with a comma"]
    (tmp_path / "b.csv").write_text('id,review\n1,"good, really"\n2,\n3,"two\nlines"\n')
    assert read_texts(str(tmp_path / "b.csv"), column="review") == ["good, really", "", "two\nlines"]
    (tmp_path / "c.tsv").write_text("text\tlabel\nfine\t1\n")
    assert read_texts(str(tmp_path / "c.tsv")) == ["fine"]
    with pytest.raises(InputError, match=r"b\.csv: no column 'text' \(columns: id, review\); set column=NAME"):
        read_texts(str(tmp_path / "b.csv"))
    with pytest.raises(InputError, match="input file not found"):
        read_texts(str(tmp_path / "missing.txt"))


def test_predict_entry_writes_one_json_line_per_input_row(trained, tmp_path):
    from src.predict import predict

    _, ckpt = trained
    (tmp_path / "in.csv").write_text('text,id\n"the plot was good .",1\n,2\nzqxv,3\n')
    cfg = compose(
        "predict", [f"ckpt_path={ckpt}", f"input={tmp_path / 'in.csv'}", f"output={tmp_path / 'out.jsonl'}"], tmp_path
    )
    predict(cfg)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["line"], r["text"]) for r in lines] == [(1, "the plot was good ."), (2, ""), (3, "zqxv")]
    assert lines[1]["label"] is None and lines[0]["label"] in ("negative", "positive")
    cfg = compose("predict", [f"ckpt_path={ckpt}"], tmp_path)
    with pytest.raises(InputError, match="exactly one of"):
        predict(cfg)


@pytest.mark.slow
def test_predict_cli_prints_only_json_lines(trained):
    _, ckpt = trained
    proc = subprocess.run(
        [sys.executable, "-m", "src.predict", f"ckpt_path={ckpt}", "text='not good , but great .'"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = proc.stdout.splitlines()
    record = json.loads(line)
    assert record["text"] == "not good , but great ." and record["label"] in ("negative", "positive")
    assert set(record["probabilities"]) == {"negative", "positive"}


def test_missing_checkpoint_is_a_one_line_error(tmp_path):
    for module in ("src.predict", "src.eval"):
        args = [f"ckpt_path={tmp_path / 'nope.ckpt'}"] + (["text=hi"] if module == "src.predict" else [])
        proc = subprocess.run(
            [sys.executable, "-m", module, *args, f"hydra.run.dir={tmp_path / 'run'}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.strip().splitlines() == [f"error: checkpoint not found: {tmp_path / 'nope.ckpt'}"]


def test_incompatible_checkpoints_are_one_line_errors(trained, tmp_path):
    _, ckpt = trained
    good = torch.load(ckpt, map_location="cpu", weights_only=True)
    (tmp_path / "garbage.ckpt").write_bytes(b"this is not a checkpoint")
    torch.save({"weights": 1}, tmp_path / "foreign.ckpt")
    torch.save({**good, "seq2vec": {}}, tmp_path / "no_tokenizer.ckpt")
    torch.save({**good, "hyper_parameters": {**good["hyper_parameters"], "vocab_size": 7}}, tmp_path / "resized.ckpt")
    torch.save(
        {
            **good,
            "hyper_parameters": {**good["hyper_parameters"], "summarizer": {"_target_": "src.summarizers.Transformer"}},
        },
        tmp_path / "unknown.ckpt",
    )
    expected = {
        "garbage": "is unreadable",
        "foreign": "is not a Lightning checkpoint",
        "no_tokenizer": "has no tokenizer",
        "resized": "does not fit this model: embedding.weight has shape",
        "unknown": "cannot rebuild its model",
    }
    for name, message in expected.items():
        with pytest.raises(CheckpointError) as error:
            load_classifier(tmp_path / f"{name}.ckpt")
        assert message in str(error.value) and f"{name}.ckpt" in str(error.value), str(error.value)
        assert "\n" not in str(error.value)


@pytest.mark.slow
def test_incompatible_checkpoint_on_the_command_line(tmp_path):
    (tmp_path / "garbage.ckpt").write_bytes(b"this is not a checkpoint")
    proc = subprocess.run(
        [sys.executable, "-m", "src.predict", f"ckpt_path={tmp_path / 'garbage.ckpt'}", "text=hi"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "garbage.ckpt is unreadable" in errors[0]


def test_predict_streams_a_large_input_in_chunks_with_bounded_memory(trained, tmp_path):
    """A large input is read line by line and predicted chunk by chunk: the records come out in
    input order with their line numbers, and no chunk holds more than chunk_size texts."""
    import src.predict as predict_module

    model, tokenizer, _ = load_classifier(trained[1])
    big = tmp_path / "big.txt"
    with big.open("w") as f:
        for i in range(2500):
            f.write(("a fine film ." if i % 2 else "dull , but great .") + ("\n" if i % 7 else "\n\n"))
    seen_chunks: list[int] = []
    original = predict_module.predict_texts

    def spy(model, tokenizer, texts, **options):
        seen_chunks.append(len(texts))
        return original(model, tokenizer, texts, **options)

    predict_module.predict_texts = spy
    try:
        stream = predict_module.predict_stream(model, tokenizer, predict_module.iter_texts(str(big)), chunk_size=400)
        records = list(stream)
    finally:
        predict_module.predict_texts = original
    lines = big.read_text().splitlines()
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))
    assert [r["text"] for r in records] == lines
    assert max(seen_chunks) == 400 and sum(seen_chunks) == len(lines)
    first = original(model, tokenizer, lines[:3])
    assert [r["probabilities"] for r in records[:3]] == [r["probabilities"] for r in first]
