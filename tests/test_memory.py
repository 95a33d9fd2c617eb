"""How far back each summarizer remembers: the built-in data's ``distance`` column, its way to
``predictions.csv``, and the report's memory curve (``memory.png``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial

import datasets
import numpy as np
import pandas as pd
import pytest
import torch

from src.data.datamodule import TextDataModule
from src.data.synthetic import make_order_sentiment
from src.data.synthetic_lexicon import NEGATION, NEGATIVE_ADJECTIVES, POSITIVE_ADJECTIVES
from src.report import write_report
from src.report.memory import distance_bins, memory_curve
from tests.helpers import REPO, TINY

SMALL = dict(n_train=400, n_validation=100, n_test=200)
POLARITY = {**{a: 1 for a in POSITIVE_ADJECTIVES}, **{a: 0 for a in NEGATIVE_ADJECTIVES}}


def _rows(ds):
    d = ds.to_dict()
    return list(zip(d["text"], d["label"], d["subset"], d["distance"]))


# ----------------------------------------------------------------------------- the column
@pytest.mark.parametrize("long", [False, True])
def test_distance_points_at_the_deciding_adjective(long):
    """By construction: the token ``distance`` places before the end is an adjective whose polarity,
    flipped by a "not" just before it, is the label; only the subordinate clause of a concession
    ("M , although S"), neutral filler and the final "." follow it. order_free examples have none."""
    kwargs = dict(max_length=200, long_range_distance=(100, 180)) if long else {}
    data = make_order_sentiment(**SMALL, seed=5, **kwargs)
    low, high = (100, 180) if long else (20, 50)
    for split in data:
        assert data[split].features["distance"] == datasets.Value("int32")
        rows = _rows(data[split])
        n_pairs = sum(s == "order_dependent" for _, _, s, _ in rows) // 2
        far = 0
        for text, label, subset, distance in rows:
            if subset == "order_free":
                assert distance is None
                continue
            tokens = text.split()
            assert 1 <= distance < len(tokens)
            adjective = tokens[-1 - distance]
            assert adjective in POLARITY, (text, distance)
            negated = tokens[-2 - distance] == NEGATION
            assert (POLARITY[adjective] ^ negated) == label, (text, distance)
            after = tokens[len(tokens) - distance :]
            assert after[-1] == "."
            if any(t in POLARITY for t in after):  # "M , although S ...": the subordinate clause, then filler
                assert after[:2] == [",", "although"] and sum(t in POLARITY for t in after) == 1, text
            if distance >= low:
                far += 1
                assert distance <= high and "but" not in after  # a neutral tail, not the other clause
        assert far == 2 * round(n_pairs * 0.3)  # long_range_fraction of the pairs, both twins


def test_the_distance_column_leaves_the_data_as_it_was():
    """Texts, labels and subsets are those the generator made before the column existed (the same
    random draws): md5 of the default test split, seed 0, taken before the change."""
    import hashlib

    test = make_order_sentiment(seed=0)["test"].to_dict()
    digest = hashlib.md5(repr([test[c] for c in ("text", "label", "subset")]).encode()).hexdigest()
    assert digest == "99263d9fe6d377aec0bf5e3fe0828b30"
    assert sorted({d for d in test["distance"] if d is not None})[:4] == [1, 7, 8, 9]


def test_distances_travel_to_batches_with_their_texts_also_when_validation_is_carved():
    def source():
        texts = [" ".join(["word"] * n) + " ." for n in range(1, 41)]
        # the distance is the text's token count, so each batch row can be checked against its own length
        split = {
            "text": texts,
            "label": [i % 2 for i in range(40)],
            "distance": [n + 1 if n % 3 else None for n in range(1, 41)],
        }
        return datasets.DatasetDict(
            {"train": datasets.Dataset.from_dict(split), "test": datasets.Dataset.from_dict(split)}
        )

    module = TextDataModule(source, validation_fraction=0.25, batch_size=8, eval_batch_size=8)
    module.setup()
    for split in ("train", "validation", "test"):
        for batch in module.dataloader(split):
            real = batch["distance"] >= 0
            assert (batch["distance"][real] == batch["lengths"][real]).all()
            assert ((batch["lengths"][~real] - 1) % 3 == 0).all()  # the nulls: -1
    plain = TextDataModule(partial(make_order_sentiment, **SMALL))
    plain.setup()
    assert plain.splits["test"].distances is not None
    without = TextDataModule(
        lambda: datasets.DatasetDict(
            {s: d.remove_columns("distance") for s, d in make_order_sentiment(**SMALL).items()}
        )
    )
    without.setup()
    assert without.splits["test"].distances is None and "distance" not in next(iter(without.test_dataloader()))


def test_the_tokenized_data_cache_keeps_the_distances(tmp_path):
    first = TextDataModule(partial(make_order_sentiment, **SMALL), cache_dir=str(tmp_path))
    first.setup()
    again = TextDataModule(partial(make_order_sentiment, **SMALL), cache_dir=str(tmp_path))
    again.setup()
    assert again.cache_hit and not first.cache_hit
    for split in first.splits:
        np.testing.assert_array_equal(again.splits[split].distances, first.splits[split].distances)
    without = TextDataModule(  # the same texts without the column are another cache entry
        lambda: datasets.DatasetDict(
            {s: d.remove_columns("distance") for s, d in make_order_sentiment(**SMALL).items()}
        ),
        cache_dir=str(tmp_path),
    )
    without.setup()
    assert not without.cache_hit and without.splits["test"].distances is None


def test_test_predictions_carry_the_distance_next_to_the_subset():
    from src.model.module import SentenceClassifier

    module = TextDataModule(partial(make_order_sentiment, **SMALL))
    module.setup()
    model = SentenceClassifier(
        {"_target_": "src.summarizers.MeanSummarizer"},
        module.vocab_size,
        2,
        embedding={"dim": 8},
        head={"width": 8},
        subset_names=module.subset_names,
    ).eval()
    model.on_test_epoch_start()
    with torch.no_grad(), pytest.warns(UserWarning):  # self.log outside a Trainer only warns
        for i, batch in enumerate(module.test_dataloader()):
            model.test_step(batch, i)
        model.on_test_epoch_end()
    rows = pd.DataFrame(model.test_predictions).sort_values("index")
    assert list(rows.columns)[-2:] == ["subset", "distance"]
    raw = make_order_sentiment(**SMALL)["test"]["distance"]
    assert rows["distance"].tolist() == [-1 if d is None else d for d in raw]


# ----------------------------------------------------------------------------- the report
def test_distance_bins_split_at_gaps_and_cut_wide_groups():
    distances = [1] * 50 + [7, 8, 9, 10] + list(range(20, 51))
    assert distance_bins(distances) == [(1, 1), (7, 10), (20, 30), (31, 40), (41, 50)]
    long = [1, 7, 9] + list(range(100, 180, 3)) + [180]
    assert distance_bins(long) == [(1, 1), (7, 9), (100, 120), (121, 140), (141, 160), (161, 180)]
    assert distance_bins([]) == [] and distance_bins([5]) == [(5, 5)]


def _fake_sweep(root, with_distance: bool):
    """mean (chance on the twins at every distance) and lstm_c (right near the end, wrong far away)."""
    sweep = root / ("with" if with_distance else "without")
    index = np.arange(400)
    distance = np.full(400, -1)
    distance[1::2] = np.tile([1, 8, 25, 45], 50)  # odd rows are twins
    label = (index // 2) % 2
    for j, (summarizer, seed) in enumerate([("mean", 0), ("lstm_c", 0), ("mean", 1), ("lstm_c", 1)]):
        job = sweep / f"{j}_{summarizer}"
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- summarizer={summarizer}\n- seed={seed}\n")
        twin = distance >= 0
        if summarizer == "mean":
            right = ~twin | ((index // 8) % 2 == 0)  # half of each distance
        else:
            right = ~twin | (distance < 40)
        pred = np.where(right, label, 1 - label)
        frame = {
            "index": index,
            "label": label,
            "pred": pred,
            "pred_shuffled": pred,
            "length": 10 + index % 50,
            "subset": np.where(twin, "order_dependent", "order_free"),
        }
        if with_distance:
            frame["distance"] = distance
        pd.DataFrame(frame).to_csv(job / "predictions.csv", index=False)
        acc = float(right.mean())
        (job / "results.json").write_text(
            json.dumps(
                {
                    "summarizer": summarizer,
                    "seed": seed,
                    "data": "order_sentiment",
                    "test/acc": acc,
                    "test/f1": acc,
                    "val/acc_best": acc,
                    "test/acc_shuffled": acc,
                    "params": 100,
                    "train_seconds": 1.0,
                    "tokens_per_second": 1000.0,
                    "epochs": 1,
                    "status": "ok",
                }
            )
        )
    return sweep


def test_report_draws_the_memory_curve_for_data_with_distances_only(tmp_path):
    sweep = _fake_sweep(tmp_path, with_distance=True)
    text = write_report(sweep)
    assert "## Memory: accuracy by distance to the deciding word" in text
    assert "| summarizer | 1 tokens (n=100) | 8 tokens (n=100) | 25 tokens (n=100) | 45 tokens (n=100) |" in text
    assert "| lstm_c | 100.0 | 100.0 | 100.0 | 0.0 |" in text
    assert "| mean | 50.0 | 50.0 | 50.0 | 50.0 |" in text
    assert "![accuracy by distance to the deciding word](memory.png)" in text
    assert (sweep / "memory.png").stat().st_size > 10_000
    curve = memory_curve(
        pd.concat(
            [
                pd.read_csv(p)
                .assign(variant=p.parent.name.split("_", 1)[1])
                .assign(correct=lambda f: (f["pred"] == f["label"]).astype(float))
                for p in sweep.glob("*/predictions.csv")
            ]
        )
    )
    assert set(curve["examples"]) == {100}

    plain = _fake_sweep(tmp_path, with_distance=False)
    text = write_report(plain)
    assert "Memory" not in text and not (plain / "memory.png").exists()
    # the same sweep with distances gives the same report but for the memory section
    with_text = (sweep / "report.md").read_text().replace("# Sweep `with`", "# Sweep `without`", 1)
    start = with_text.index("## Memory")
    end = with_text.index("## ", start + 3)
    assert with_text[:start] + with_text[end:] == text

    all_null = _fake_sweep(tmp_path / "null", with_distance=True)
    for path in all_null.glob("*/predictions.csv"):
        pd.read_csv(path).assign(distance=-1).to_csv(path, index=False)
    assert "Memory" not in write_report(all_null)


@pytest.mark.slow
def test_a_real_sweep_records_distances_and_draws_memory_png(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "src.train", "-m", "summarizer=mean,rnn", *TINY, f"hydra.sweep.dir={tmp_path}/sweep"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    predictions = pd.read_csv(tmp_path / "sweep" / "0_mean" / "predictions.csv")
    assert list(predictions.columns)[-2:] == ["subset", "distance"]
    twins = predictions["subset"] == "order_dependent"
    assert (predictions.loc[twins, "distance"] >= 1).all() and (predictions.loc[~twins, "distance"] == -1).all()
    report = (tmp_path / "sweep" / "report.md").read_text()
    assert "## Memory" in report and (tmp_path / "sweep" / "memory.png").is_file()
