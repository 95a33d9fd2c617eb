"""Long documents: data.max_length with data.truncation head|tail|head_tail (src/data/truncation.py), HTML
line breaks read as a space (data.strip_html_breaks, on for data=imdb), a field of hundreds of kilobytes
(and one past Arrow's 1 MiB CSV block), both in the tokenized-data cache key; data=imdb from a local
folder and data=20newsgroups (20 string labels) from its Hub source, never downloaded here."""

from __future__ import annotations

from pathlib import Path

import datasets
import hydra
import numpy as np
import pytest
from omegaconf import OmegaConf

from src.data.datamodule import ConfigError, FilesDataModule
from src.data.sources import read_delimited
from src.data.tokenizer import encode_flat, train_word_tokenizer
from src.data.truncation import head_tokens, truncate

TOPICS = [f"topic{i}.group" for i in range(20)]


def write_csv(path: Path, rows) -> Path:
    path.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows))
    return path


def words(dm, split: str, i: int) -> list[str]:
    return [dm.tokenizer.id_to_token(int(t)) for t in dm.splits[split].ids[i]]


# --------------------------------------------------------------------------- truncation
@pytest.mark.parametrize(
    "mode, expected",
    [
        ("head", [0, 1, 2, 3, 4, 5, 6, 7]),
        ("tail", [12, 13, 14, 15, 16, 17, 18, 19]),
        ("head_tail", [0, 1, *range(14, 20)]),
    ],
)
def test_truncation_modes_keep_the_right_tokens(mode, expected):
    ids = list(range(20))
    assert truncate(ids, 8, mode) == expected
    assert truncate(ids, 20, mode) == ids and truncate(ids[:5], 8, mode) == ids[:5]  # short texts stay whole
    assert truncate(ids, 1, mode) == ([19] if mode != "head" else [0])


def test_head_tail_keeps_a_quarter_from_the_head():
    assert [head_tokens(n) for n in (512, 256, 8, 3)] == [128, 64, 2, 0]


def test_the_encoder_truncates_the_chosen_way():
    tokenizer = train_word_tokenizer([" ".join(f"w{i}" for i in range(10))])
    text = [" ".join(f"w{i}" for i in range(10))]
    flat, offsets, full_lengths = encode_flat(tokenizer, [text], 4, "head_tail")
    assert list(full_lengths) == [10] and list(offsets) == [0, 4]
    assert [tokenizer.id_to_token(int(t)) for t in flat] == ["w0", "w7", "w8", "w9"]


def test_an_unknown_truncation_is_a_one_line_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"^data.truncation must be one of head, tail, head_tail, got 'middle'$"):
        FilesDataModule(data_dir=str(tmp_path), truncation="middle")


# --------------------------------------------------------------------------- HTML line breaks
def test_html_breaks_are_read_as_a_space_when_asked():
    texts = ["Great film.<br /><br />Really good<BR>and<br/>fine"]
    plain, stripped = train_word_tokenizer(texts), train_word_tokenizer(texts, strip_html_breaks=True)
    assert "br" in plain.get_vocab() and "<" in plain.get_vocab()
    assert "br" not in stripped.get_vocab() and "<" not in stripped.get_vocab()
    assert stripped.encode(texts[0]).tokens == ["great", "film", ".", "really", "good", "and", "fine"]
    # the normalizer travels inside the tokenizer's JSON (so inside every checkpoint)
    assert type(stripped).from_str(stripped.to_str()).encode("a<br />b").tokens == ["[UNK]", "[UNK]"]


# --------------------------------------------------------------------------- very long fields
def long_review(n_words: int) -> str:
    return " ".join(f"w{i % 1000}" for i in range(n_words))


def test_a_300_kilobyte_field_is_read_and_truncated_head_and_tail(tmp_path):
    long = "first " + long_review(65_000) + " last"  # about 320 kB
    assert len(long) > 300_000
    rows = [(long, 1)] + [(f"short text {i}", i % 2) for i in range(20)]
    write_csv(tmp_path / "train.csv", rows)
    dm = FilesDataModule(data_dir=str(tmp_path), cache_dir=None, max_length=16, truncation="head_tail")
    dm.setup("fit")
    where = next(s for s in dm.splits if (dm.splits[s].lengths == 16).any())
    i = int(np.flatnonzero(dm.splits[where].lengths == 16)[0])
    kept = words(dm, where, i)
    assert len(kept) == 16 and kept[:2] == ["first", "w0"] and kept[-1] == "last"
    assert kept[-2] == "w999"  # the review's own last word before "last"


def test_a_field_past_arrows_csv_block_is_read(tmp_path):
    big = long_review(300_000)  # 1.5 MB in one cell: more than a 1 MiB block
    path = write_csv(tmp_path / "train.csv", [(big, 1), ("short", 0)])
    table = read_delimited(path, "text")
    assert table.num_rows == 2 and table["text"][0].as_py() == big


def long_test_set(folder: Path) -> Path:
    """30 short training texts; a test split with 3 texts of 20-40 words, the others short."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "train.csv", [(f"short text {i} {'good' if i % 2 else 'bad'}", i % 2) for i in range(30)])
    write_csv(folder / "validation.csv", [(f"short text {i}", i % 2) for i in range(6)])
    tests = [(" ".join(f"w{j}" for j in range(n)), n % 2) for n in (20, 30, 40)] + [("short one", 0)]
    return write_csv(folder / "test.csv", tests).parent


def test_a_split_records_each_texts_length_before_truncation(tmp_path):
    dm = FilesDataModule(data_dir=str(long_test_set(tmp_path)), cache_dir=None, max_length=8)
    dm.setup("fit")
    assert dm.splits["test"].full_lengths.tolist() == [20, 30, 40, 2]
    assert dm.splits["test"].lengths.tolist() == [8, 8, 8, 2]
    assert dm.splits["train"].full_lengths is None  # nothing cut: nothing extra stored
    assert dm.splits["test"][1]["full_length"] == 30 and "full_length" not in dm.splits["train"][0]


def test_the_lengths_before_truncation_survive_the_cache_and_older_entries_are_rebuilt(tmp_path, caplog):
    import json

    data, cache = long_test_set(tmp_path / "data"), tmp_path / "cache"
    first = FilesDataModule(data_dir=str(data), cache_dir=str(cache), max_length=8)
    first.setup("fit")
    again = FilesDataModule(data_dir=str(data), cache_dir=str(cache), max_length=8)
    again.setup("fit")
    assert again.cache_hit and again.splits["test"].full_lengths.tolist() == [20, 30, 40, 2]
    meta_path = first.cache_path / "meta.json"  # an entry written before full_lengths existed
    meta = json.loads(meta_path.read_text())
    del meta["full_lengths_recorded"]
    meta["arrays"]["test"].remove("full_lengths")
    meta_path.write_text(json.dumps(meta))
    rebuilt = FilesDataModule(data_dir=str(data), cache_dir=str(cache), max_length=8)
    rebuilt.setup("fit")
    assert not rebuilt.cache_hit and rebuilt.splits["test"].full_lengths.tolist() == [20, 30, 40, 2]
    assert "lengths before truncation" in caplog.text


def test_truncation_and_html_breaks_change_the_cache_key(tmp_path):
    write_csv(tmp_path / "train.csv", [(f"a<br />film number {i}", i % 2) for i in range(20)])
    paths = set()
    for settings in ({}, {"truncation": "tail"}, {"strip_html_breaks": True}):
        dm = FilesDataModule(data_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"), **settings)
        dm.setup("fit")
        assert not dm.cache_hit
        paths.add(dm.cache_path)
    assert len(paths) == 3


# --------------------------------------------------------------------------- the long-document configs
def test_imdb_reads_a_local_folder_with_its_long_document_settings(train_config, tmp_path):
    write_csv(
        tmp_path / "train.csv", [(f"review {i}<br /><br />{'good' if i % 2 else 'bad'}", i % 2) for i in range(40)]
    )
    write_csv(tmp_path / "test.csv", [(f"another {i}<br />{'good' if i % 2 else 'bad'}", i % 2) for i in range(10)])
    cfg = train_config("data=imdb", f"data.data_dir={tmp_path}", "data.cache_dir=null")
    assert (cfg.data.truncation, cfg.data.strip_html_breaks, cfg.data.max_length) == ("head_tail", True, 256)
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")
    assert {s: len(d) for s, d in dm.splits.items()} == {"train": 36, "validation": 4, "test": 10}  # carved
    assert "br" not in dm.tokenizer.get_vocab()


def test_20newsgroups_composes_to_its_hub_source_with_string_labels(train_config, monkeypatch):
    cfg = train_config("data=20newsgroups")
    source = cfg.data.source
    assert (source.path, source.revision) == ("SetFit/20_newsgroups", "f1b91292074e7cfb69be58b642d583ec262f30ed")
    assert OmegaConf.to_container(source.splits) == {"train": "train", "test": "test"}
    assert OmegaConf.to_container(source.columns) == {"text": "text", "label": "label_text"}

    def split(n):  # the card's columns: text, label (int), label_text
        return datasets.Dataset.from_dict(
            {
                "text": [f"post {i} about {TOPICS[i % 20]}" for i in range(n)],
                "label": [i % 20 for i in range(n)],
                "label_text": [TOPICS[i % 20] for i in range(n)],
            }
        )

    monkeypatch.setattr(
        datasets, "load_dataset", lambda *a, **k: datasets.DatasetDict(train=split(200), test=split(40))
    )
    dm = hydra.utils.instantiate(cfg.data, cache_dir=None)
    dm.setup("fit")
    assert dm.label_names == sorted(TOPICS) and dm.num_classes == 20
    assert {s: len(d) for s, d in dm.splits.items()} == {"train": 180, "validation": 20, "test": 40}


@pytest.mark.slow
@pytest.mark.parametrize("summarizer, max_length", [("mean", "null"), ("lstm_h", "2000")])
def test_a_run_trains_on_a_300_kilobyte_field(tmp_path, summarizer, max_length):
    from omegaconf import open_dict

    from src.train import train
    from tests.helpers import compose_train_config

    rows = [(long_review(65_000) + (" good" if i % 2 else " bad"), i % 2) for i in range(2)]
    rows += [(f"short text {i} {'good' if i % 2 else 'bad'}", i % 2) for i in range(30)]
    write_csv(tmp_path / "train.csv", rows)
    cfg = compose_train_config(
        [
            "data=files",
            f"data.data_dir={tmp_path}",
            "data.cache_dir=null",
            f"data.max_length={max_length}",
            "data.truncation=head_tail",
            f"summarizer={summarizer}",
            "logger=none",
            "model.embedding.dim=8",
            "model.head.width=8",
            "trainer.max_epochs=1",
            "callbacks.progress_bar.refresh_rate=0",
        ],
        tmp_path / "run",
    )
    with open_dict(cfg):
        del cfg["hydra"]
        if "hidden_size" in cfg.summarizer:
            cfg.summarizer.hidden_size = 8
    results = train(cfg)
    assert results["status"] == "ok" and np.isfinite(results["test/acc"])


@pytest.mark.slow
def test_predictions_csv_has_each_documents_length_before_truncation(tmp_path):
    """What the report's accuracy-by-length buckets read on long documents (``src.report.lengths``)."""
    import pandas as pd
    from omegaconf import open_dict

    from src.train import train
    from tests.helpers import compose_train_config

    overrides = ["data=files", f"data.data_dir={long_test_set(tmp_path / 'data')}", "data.cache_dir=null"]
    overrides += ["data.max_length=8", "summarizer=mean", "logger=none", "model.embedding.dim=8"]
    overrides += ["model.head.width=8", "trainer.max_epochs=1", "callbacks.progress_bar.refresh_rate=0"]
    cfg = compose_train_config(overrides, tmp_path / "run")
    with open_dict(cfg):
        del cfg["hydra"]
    train(cfg)
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert predictions["full_length"].tolist() == [20, 30, 40, 2] and predictions["length"].tolist() == [8, 8, 8, 2]
