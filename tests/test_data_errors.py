"""Bad input: every case in the issue gets a clear one-line error naming the file, column, row or value,
and nothing is half-written (no cache file, no partial split)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from src.data.datamodule import DataError, FilesDataModule, TextDataModule
from src.data.sources import check_utf8
from tests.helpers import REPO

GOOD = "text,label\n" + "".join(f"sentence number {i},{'pos' if i % 2 else 'neg'}\n" for i in range(20))


def setup_files(tmp_path: Path, **files: str) -> FilesDataModule:
    """Write ``{split: content}`` as files named after the split (``train`` -> train.csv unless the
    name carries an extension) and set up a module over them; the cache is on, to check that a failed
    setup leaves nothing in it."""
    paths = {}
    for split, content in files.items():
        name = split if "." in split else f"{split}.csv"
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        key = name.split(".")[0]
        paths[f"{key}_file"] = str(path)
    dm = FilesDataModule(**paths, cache_dir=str(tmp_path / "cache"), validation_fraction=0.2, test_fraction=0.2)
    dm.setup()
    return dm


def fails(tmp_path: Path, pattern: str, **files) -> str:
    with pytest.raises(DataError, match=pattern) as info:
        setup_files(tmp_path, **files)
    message = str(info.value)
    assert "\n" not in message  # one line
    cache = tmp_path / "cache"
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing half-written
    return message


def test_missing_file(tmp_path):
    dm = FilesDataModule(train_file=str(tmp_path / "nope.csv"), cache_dir=None)
    with pytest.raises(DataError, match=r"^data.train_file: no such file: .*nope\.csv$"):
        dm.setup()
    dm = FilesDataModule(
        train_file=str(tmp_path / "t.csv"), validation_file=str(tmp_path / "dev.jsonl"), cache_dir=None
    )
    (tmp_path / "t.csv").write_text(GOOD)
    with pytest.raises(DataError, match=r"^data.validation_file: no such file: .*dev\.jsonl$"):
        dm.setup()
    with pytest.raises(DataError, match="data.data_dir: no such folder"):
        FilesDataModule(data_dir=str(tmp_path / "absent"), cache_dir=None).setup()


def test_missing_text_column_lists_the_columns(tmp_path):
    message = fails(
        tmp_path,
        r"no column 'text' \(columns: sentence, label\); set data.text_column",
        train=GOOD.replace("text,label", "sentence,label"),
    )
    assert str(tmp_path / "train.csv") in message


def test_missing_label_column_lists_the_columns(tmp_path):
    fails(
        tmp_path,
        r"test \(.*test\.csv\): no column 'label' \(columns: text, polarity\); set data.label_column",
        train=GOOD,
        test=GOOD.replace("text,label", "text,polarity"),
    )


def test_empty_and_null_texts_are_dropped_with_a_counted_warning(tmp_path, caplog):
    content = GOOD + ',pos\n   ,neg\n"",pos\n'  # empty, blank, quoted empty
    with caplog.at_level(logging.WARNING):
        dm = setup_files(tmp_path, train=content)
    warning = next(r.getMessage() for r in caplog.records if "dropped" in r.getMessage())
    assert "dropped 3 of 23 rows with empty or null text in column 'text' (rows 21, 22, 23)" in warning
    assert str(tmp_path / "train.csv") in warning
    assert sum(len(d) for d in dm.splits.values()) == 20


def test_a_split_with_only_empty_texts_is_an_error(tmp_path):
    fails(
        tmp_path,
        r"test \(.*\): no row has text in column 'text' \(all 2 empty or null\)",
        train=GOOD,
        test="text,label\n,pos\n ,neg\n",
    )


def test_null_texts_in_json(tmp_path, caplog):
    rows = [{"text": f"words {i}", "label": i % 2} for i in range(10)] + [{"text": None, "label": 1}]
    with caplog.at_level(logging.WARNING):
        dm = setup_files(tmp_path, **{"train.jsonl": "".join(json.dumps(r) + "\n" for r in rows)})
    assert "dropped 1 of 11 rows" in caplog.text and sum(len(d) for d in dm.splits.values()) == 10


def test_a_missing_label_names_the_row(tmp_path):
    # data rows 2 and 4 ("sentence number 1" and "3") lose their label; rows count from 1, header excluded
    fails(
        tmp_path, r"train \(.*train\.csv\): column 'label' row 2 has no label", train=GOOD.replace(",pos\n", ",\n", 2)
    )


def test_validation_label_never_seen_in_train(tmp_path):
    message = fails(
        tmp_path,
        r"label 'neutral' in row 2 never appears in train \(train labels: neg, pos\) "
        r"\(and 1 more rows\)",
        train=GOOD,
        validation="text,label\nok,pos\nmeh,neutral\nhmm,neutral\n",
    )
    assert "validation (" in message and "validation.csv" in message


def test_test_label_never_seen_in_train(tmp_path):
    fails(
        tmp_path,
        r"test \(.*test\.csv\): label '7' in row 1 never appears in train \(train labels: 0, 1\)",
        train=GOOD.replace(",pos", ",1").replace(",neg", ",0"),
        test="text,label\nodd,7\n",
    )


def test_a_class_with_no_training_examples(tmp_path):
    # the classes are fixed (config label_names, or a ClassLabel column) but train lacks one
    (tmp_path / "train.csv").write_text(GOOD)
    dm = FilesDataModule(train_file=str(tmp_path / "train.csv"), label_names=["neg", "neutral", "pos"], cache_dir=None)
    with pytest.raises(
        DataError,
        match=r"train \(.*\): class 'neutral' has no training examples "
        r"\(classes: neg, neutral, pos\)",
    ):
        dm.setup()
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["World", "Sports", "Sci/Tech"])}
    )
    split = datasets.Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [0, 1, 0, 1]}, features=features)
    raw = datasets.DatasetDict({"train": split, "validation": split, "test": split})
    dm = TextDataModule(source=lambda: raw, name="news", cache_dir=None)
    with pytest.raises(DataError, match=r"news/train: class 'Sci/Tech' has no training examples"):
        dm.setup()


def test_only_one_class_in_train(tmp_path):
    fails(tmp_path, r"only one class \('pos'\) in column 'label'; need at least 2", train=GOOD.replace(",neg", ",pos"))


def test_a_label_that_is_neither_integer_nor_name(tmp_path):
    fails(
        tmp_path,
        r"column 'label' row 1 has label 0\.5, neither an integer nor a name",
        train="text,label\na,0.5\nb,1\n" + "c,1\nd,0\n" * 5,
    )


def test_not_utf8_names_file_offset_and_line(tmp_path):
    content = GOOD.encode() + "café,pos\n".encode("latin-1")
    message = fails(tmp_path, r"train\.csv: not valid UTF-8: byte 0xe9 at byte offset \d+ \(line 22\)", train=content)
    offset = int(message.split("byte offset ")[1].split()[0])
    assert content[offset] == 0xE9


def test_utf8_check_across_chunk_boundaries(tmp_path):
    path = tmp_path / "x.txt"
    text = ("naïve résumé\n" * 50).encode()
    path.write_bytes(text)
    for chunk_size in (1, 2, 3, 7, 64):
        check_utf8(path, chunk_size=chunk_size)  # multi-byte characters split across chunks are fine
    bad = text[:300] + b"\xff" + text[300:]  # 16 bytes a line: offset 300 is on line 19
    path.write_bytes(bad)
    for chunk_size in (1, 2, 5, 64, 1 << 20):
        with pytest.raises(DataError, match=r"byte 0xff at byte offset 300 \(line 19\)"):
            check_utf8(path, chunk_size=chunk_size)
    path.write_bytes(text + "é".encode()[:1])  # truncated at the very end
    with pytest.raises(DataError, match=rf"byte 0xc3 at byte offset {len(text)} \(line 51\)"):
        check_utf8(path, chunk_size=4)


def test_an_empty_split(tmp_path):
    fails(tmp_path, r"validation \(.*validation\.csv\): the split is empty", train=GOOD, validation="text,label\n")


def test_an_empty_file(tmp_path):
    fails(tmp_path, r"test\.csv: the file is empty", train=GOOD, test="")


def test_an_unsupported_extension(tmp_path):
    fails(
        tmp_path,
        r"data.train_file: unsupported extension '\.xlsx' of .*train\.xlsx "
        r"\(use \.csv, \.tsv, \.json, \.jsonl, \.parquet, \.txt\)",
        **{"train.xlsx": "x"},
    )


def test_a_txt_line_without_a_tab(tmp_path):
    content = "pos\tgood\nneg\tbad\n\npos great film\n"
    fails(
        tmp_path,
        r"train\.txt: line 4 has no tab \(expected label<TAB>text\): 'pos great film'",
        **{"train.txt": content},
    )


def test_malformed_csv_and_json(tmp_path):
    (tmp_path / "csv").mkdir(), (tmp_path / "json").mkdir()
    fails(
        tmp_path / "csv",
        r"train\.csv: cannot read as csv: .*Expected 2 fields in line 3, saw 3",
        train="text,label\na,1\nb,0,extra\n",
    )
    fails(tmp_path / "json", r"train\.json: expected a JSON list of records", **{"train.json": '{"text": "a"}'})
    (tmp_path / "jsonl").mkdir()
    fails(
        tmp_path / "jsonl",
        r"train\.jsonl: line 2 is not valid JSON \(Expecting",
        **{"train.jsonl": '{"text": "a", "label": 1}\n{"text": "b", label: 0}\n'},
    )


@pytest.mark.slow  # a subprocess: imports alone take seconds on a busy CPU
def test_the_training_script_reports_one_line(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.train",
            "data=files",
            f"data.train_file={tmp_path}/none.csv",
            "logger=none",
            f"hydra.run.dir={tmp_path}/run",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SEQ2VEC_CACHE": str(tmp_path / "cache")},
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == f"error: data.train_file: no such file: {tmp_path}/none.csv"
    assert not (tmp_path / "cache").exists()
