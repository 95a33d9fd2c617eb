"""Property-based fuzzing of every file reader (``data=files``: .csv .tsv .json .jsonl .parquet .txt)
and of the predict input (``src.predict.iter_texts``): random bytes, random table shapes, quotes,
encodings, NUL bytes, empty and huge cells (hundreds of kilobytes), mixed label types.

The property: the file loads (a prepared data module with a train split and two classes or more;
a sample of those also trains, and predict answers every text read), or reading it fails with what
the command line prints as one short ``error:`` line naming the file. Never a traceback, never a
hang. Budgets: tests/fuzzing.py (``--fuzz-examples N`` for more).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from functools import cache
from pathlib import Path

from hypothesis import event, example, given
from hypothesis import strategies as st
from omegaconf import open_dict

from src.data.datamodule import FilesDataModule
from tests.fuzzing import assert_one_line, fuzz, time_limit, train_within_limit
from tests.helpers import compose_train_config, tiny, tiny_classifier

HUGE = 300_000  # characters in a huge cell

# ------------------------------------------------------------------ strategies
WORDS = st.sampled_from(
    [
        "good",
        "bad",
        "film",
        "plot",
        "  ",
        "NA",
        "null",
        "None",
        "0",
        "1",
        "-1",
        "1.5",
        "nan",
        "true",
        "2024-01-01",
        "12:00",
        "é",
        "😀",
        "\u200b",
        "\ufeff",
        '"',
        "'",
        ",",
        "\t",
        "\\",
    ]
)
SPECIAL = st.sampled_from(["\n", "\r\n", "\r", '"', '""', ",", "\t", "\x00", "\\", "\u2028", "\x85", " "])
CELL = st.one_of(
    st.just(""),
    st.lists(st.one_of(WORDS, SPECIAL), max_size=8).map("".join),
    st.text(max_size=30),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(str),
    st.sampled_from(["x ", "y"]).map(lambda unit: unit * (HUGE // len(unit))),  # a huge cell
)
LABEL = st.one_of(
    st.sampled_from(["pos", "neg", "0", "1", "2", "-1", "1.0", "", "NA", "true", "False", " pos", "é"]),
    CELL,
)
HEADER = st.lists(
    st.one_of(st.sampled_from(["text", "label", "subset", "distance", "id", "", "text "]), st.text(max_size=6)),
    min_size=1,
    max_size=5,
)
ENCODINGS = st.sampled_from(["utf-8"] * 12 + ["utf-8-sig", "utf-16", "latin-1", "cp1252"])


CLASSES = st.sampled_from([["pos", "neg"], ["0", "1", "2"], ["1", "-1"], ["é", "😀"], ["a", "A", "a "], None])


@st.composite
def labelled(draw, label=None) -> list[tuple]:
    """(text, label) rows, mostly of two or three classes (enough for every split to be carved),
    with a few odd rows (any label, any text) among them; ``label`` draws a class's label."""
    classes = draw(CLASSES) or draw(st.lists(LABEL, min_size=2, max_size=3, unique=True))
    good = draw(
        st.lists(
            st.tuples(CELL, label or st.sampled_from(classes)), min_size=draw(st.sampled_from([0, 12])), max_size=40
        )
    )
    odd = draw(st.lists(st.tuples(CELL, LABEL), max_size=3)) if draw(st.integers(0, 3)) == 0 else []
    rows = good + odd
    return [rows[i] for i in draw(st.permutations(range(len(rows))))]


@st.composite
def delimited(draw, suffix: str = ".csv") -> bytes:
    """A .csv or .tsv file's bytes: a header (usually text,label), rows of random cells, random
    quoting, line ends and encoding; sometimes the other format's delimiter, or rows of the wrong width."""
    delimiter = draw(st.sampled_from([","] * 5 + ["\t"] if suffix == ".csv" else ["\t"] * 5 + [","]))
    header = draw(st.sampled_from([["text", "label"]] * 3 + [["label", "text", "subset"], None])) or draw(HEADER)
    rows = [[text, label] if header[0] == "text" else [label, text, "s"] for text, label in draw(labelled())]
    if draw(st.integers(0, 4)) == 0:  # rows of any width
        rows += draw(st.lists(st.lists(CELL, min_size=1, max_size=len(header) + 1), min_size=1, max_size=2))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL] * 3 + [csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, None]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = io.StringIO()
    if quoting is None:  # cells joined raw: stray quotes, tabs and newlines as they come
        out.write(end.join(delimiter.join(row) for row in [header, *rows]))
    else:
        writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=end)
        writer.writerows([header, *rows])
    return encode(draw(ENCODINGS), out.getvalue())


def encode(encoding: str, text: str) -> bytes:
    return text.encode(encoding, errors="replace")


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | CELL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
ODD_RECORD = st.fixed_dictionaries(
    {},
    optional={
        "text": st.one_of(CELL, JSON_VALUE),
        "label": st.one_of(LABEL, JSON_VALUE, st.integers(-3, 3), st.booleans(), st.floats(-2, 2)),
        "subset": st.one_of(CELL, st.integers(0, 3)),
        "distance": st.one_of(st.integers(-5, 50), st.floats(), CELL),
    },
)
# labels of one type, or of mixed types (1 and "pos", true and 0, 1.5 and 2)
JSON_CLASSES = st.sampled_from([["pos", "neg"], [0, 1], [1, 2, 3], [1, "pos"], [True, 0], [1.5, 2], [None, "x"]])


@st.composite
def records(draw, suffix: str = ".json") -> bytes:
    """A .json (a list of records, or any JSON) or .jsonl file's bytes (records, or any JSON values,
    blank or broken lines); which of the two the caller decides by the extension."""
    classes = draw(JSON_CLASSES)
    items = [{"text": text, "label": label} for text, label in draw(labelled(st.sampled_from(classes)))]
    items += draw(st.lists(st.one_of(ODD_RECORD, JSON_VALUE), max_size=3))
    items = [items[i] for i in draw(st.permutations(range(len(items))))]
    if (suffix == ".json") != (draw(st.integers(0, 5)) == 0):  # a .json list (now and then in a .jsonl)
        text = json.dumps(items if draw(st.integers(0, 4)) else draw(JSON_VALUE), ensure_ascii=draw(st.booleans()))
    else:
        lines = [json.dumps(item) for item in items]
        lines += draw(st.lists(st.sampled_from(["", " ", "{", '{"text": "a"', "[1, 2]", "nul"]), max_size=2))
        text = "\n".join(draw(st.permutations(lines)))
    if draw(st.integers(0, 5)) == 0:  # cut short
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    return encode(draw(ENCODINGS), text)


@st.composite
def txt(draw) -> bytes:
    """A .txt file of ``label<TAB>text`` lines (some without a tab, blank, or with odd labels)."""
    lines = ["\t".join((label, text)) for text, label in draw(labelled())] + draw(st.lists(CELL, max_size=2))
    return encode(draw(ENCODINGS), draw(st.sampled_from(["\n", "\r\n"])).join(lines))


@st.composite
def parquet(draw) -> bytes:
    """A .parquet file of random columns (text-like, numbers, booleans, nulls, lists, structs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = draw(st.integers(0, 20))
    column = st.one_of(
        st.lists(st.one_of(st.none(), CELL), min_size=rows, max_size=rows),
        st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=rows, max_size=rows),
        st.lists(st.one_of(st.none(), st.floats()), min_size=rows, max_size=rows),
        st.lists(st.booleans(), min_size=rows, max_size=rows),
        st.lists(st.lists(st.integers(0, 3), max_size=2), min_size=rows, max_size=rows),
        st.lists(st.fixed_dictionaries({"a": st.integers(0, 3)}), min_size=rows, max_size=rows),
    )
    names = draw(st.lists(st.sampled_from(["text", "label", "subset", "distance", "other"]), max_size=4, unique=True))
    table = pa.table({name: pa.array(draw(column)) for name in names}) if names else pa.table({"x": pa.array([1])})
    out = io.BytesIO()
    pq.write_table(table, out)
    data = out.getvalue()
    if draw(st.integers(0, 5)) == 0:  # truncated or corrupted
        data = data[: draw(st.integers(0, len(data)))]
    return data


def load(path: Path, **options):
    """``data=files data.train_file=path``: the data module, prepared (setup), or the error."""
    data = FilesDataModule(train_file=str(path), cache_dir=None, **options)
    with time_limit():
        data.setup("fit")
    return data


def check(content: bytes, suffix: str) -> None:
    """The property, on one file: it loads, or one short line naming it (counted as a hypothesis event)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"train{suffix}"
        path.write_bytes(content)
        try:
            data = load(path)
        except Exception as exc:  # noqa: BLE001  (the property is about what it is)
            line = assert_one_line(exc, path)
            event(f"error: {line.replace(str(path), 'FILE').replace(Path(folder).name, 'NAME')[:60]}")
            return
        assert len(data.splits["train"]) > 0 and data.num_classes >= 2
        assert {"train", "validation", "test"} <= set(data.splits)
        event("loaded")


# ------------------------------------------------------------------ the readers
@fuzz(ci=40)
@given(
    content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    suffix=st.sampled_from([".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt", ".CSV"]),
)
def test_random_bytes_load_or_fail_in_one_line(content, suffix):
    check(content, suffix)


@fuzz(ci=60)
@given(content=st.sampled_from([".csv", ".tsv"]).flatmap(lambda suffix: st.tuples(delimited(suffix), st.just(suffix))))
@example(content=(b'text,label\n"' + b"x" * HUGE + b'",pos\nok,neg\nfine,pos\nbad,neg\n', ".csv"))
def test_csv_and_tsv_load_or_fail_in_one_line(content):
    check(*content)


@fuzz(ci=60)
@given(content=st.sampled_from([".json", ".jsonl"]).flatmap(lambda suffix: st.tuples(records(suffix), st.just(suffix))))
def test_json_and_jsonl_load_or_fail_in_one_line(content):
    check(*content)


@fuzz(ci=30)
@given(content=txt())
def test_label_tab_text_files_load_or_fail_in_one_line(content):
    check(content, ".txt")


@fuzz(ci=30)
@given(content=parquet())
def test_parquet_files_load_or_fail_in_one_line(content):
    check(content, ".parquet")


# ------------------------------------------------------------------ a sample trains
GOOD_ROWS = st.lists(
    st.tuples(
        st.lists(st.one_of(WORDS, st.text(min_size=1, max_size=8)), min_size=1, max_size=6).map(" ".join),
        st.sampled_from(["pos", "neg", "7", "é"]),
    ),
    min_size=40,
    max_size=80,
)


@fuzz(ci=3, cost=20)
@given(rows=GOOD_ROWS, suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".json"]))
def test_a_sample_of_the_files_that_load_also_train(rows, suffix, tmp_path_factory):
    """Each example: a file of random (loadable) rows, trained on for one epoch by ``src.train``."""
    folder = tmp_path_factory.mktemp("train")
    path = folder / f"train{suffix}"
    if suffix in (".json", ".jsonl"):
        items = [{"text": t, "label": y} for t, y in rows]
        path.write_text(json.dumps(items) if suffix == ".json" else "\n".join(map(json.dumps, items)))
    elif suffix == ".csv":
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([("text", "label"), *rows])
    else:  # a .tsv has no quoting: its cells hold no tab or line end
        cells = [[" ".join(cell.split()) or "x" for cell in row] for row in [("text", "label"), *rows]]
        path.write_text("\n".join("\t".join(row) for row in cells) + "\n")
    try:
        load(path)
    except Exception as exc:  # noqa: BLE001
        assert_one_line(exc, path)
        return
    settings = [o for o in tiny("mean") if not o.startswith("data.source.")]  # those are the built-in data's
    files = ["data=files", f"data.train_file={path}", "data.cache_dir=null", "trainer.limit_train_batches=2"]
    cfg = compose_train_config([*settings, *files], folder / "run")
    with open_dict(cfg):
        del cfg["hydra"]
    assert train_within_limit(cfg)["status"] == "ok"


# ------------------------------------------------------------------ the predict input
@cache
def classifier():
    """A tiny untrained model and its tokenizer, to answer the texts read."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-predict-"))
    (folder / "train.csv").write_text("text,label\n" + "a fine film,pos\na dull film,neg\n" * 10)
    model, data = tiny_classifier(folder / "train.csv")
    return model, data.tokenizer


@fuzz(ci=50)
@given(
    content=st.one_of(st.binary(max_size=300), delimited(), txt(), records()),
    suffix=st.sampled_from([".txt", ".csv", ".tsv", ".jsonl", "", "-"]),
    column=st.sampled_from(["text", "label", "review"]),
)
def test_predict_input_is_read_and_answered_or_fails_in_one_line(content, suffix, column):
    from src.predict import iter_texts, predict_texts

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(content)
        try:
            with time_limit():
                if suffix == "-":
                    texts = list(iter_texts("-", column, stdin=io.BytesIO(content)))
                else:
                    texts = list(iter_texts(str(path), column))
        except Exception as exc:  # noqa: BLE001
            assert_one_line(exc, "stdin" if suffix == "-" else path)
            return
    assert all(isinstance(text, str) for text in texts)
    model, tokenizer = classifier()
    with time_limit():
        records = predict_texts(model, tokenizer, texts)
    assert [r["line"] for r in records] == list(range(1, len(texts) + 1))
    assert all((r["label"] is None) == (r["tokens"] == 0) for r in records)


def test_a_predict_input_cell_of_hundreds_of_kilobytes_is_read(tmp_path):
    """Fuzz finding: a .csv/.tsv input with a cell over 128 kB (the csv module's default field limit)
    was a traceback (``_csv.Error: field larger than field limit``); training reads such files."""
    from src.predict import iter_texts

    for suffix, quote in ((".csv", '"'), (".tsv", "")):
        path = tmp_path / f"input{suffix}"
        path.write_text(f"text\n{quote}{'x ' * (HUGE // 2)}{quote}\nshort\n")
        assert [len(text) for text in iter_texts(str(path))] == [HUGE, 5]


def test_a_predict_input_whose_header_is_one_huge_cell_fails_in_one_short_line(tmp_path):
    """Fuzz finding (CI, 2026-12-04): a .csv whose first line is a 300 kB JSON record put the whole
    header into the "no column" error, a 300,072-character line."""
    from src.predict import iter_texts

    path = tmp_path / "input.csv"
    path.write_text('{"text": "", "label": "' + "x " * 150_000 + '"}\n')
    try:
        list(iter_texts(str(path), "text"))
    except Exception as exc:  # noqa: BLE001
        assert_one_line(exc, path)
        assert "no column 'text'" in str(exc) and len(str(exc)) < 400 + len(str(path))
    else:
        raise AssertionError("a header without the column was read")
