"""SST's phrase protocol from PTB trees (src/data/trees.py, data=sst2_phrases / sst5_phrases with
data.data_dir): every distinct phrase of the training trees, whole dev/test sentences, neutral dropped
for SST-2, PTB tokens undone, and one-line errors naming the file and line for a malformed tree."""

from __future__ import annotations

from pathlib import Path

import hydra
import pytest

from src.data.datamodule import ConfigError, DataError
from src.data.trees import SSTTrees, parse_tree, read_trees
from src.utils.errors import find_user_error
from tests.helpers import REPO

SHARED_TREES = REPO.parent / "shared" / "data" / "sst_trees"

# 13 nodes, 10 distinct phrase texts: "The" and "film" repeat (label 2 each time)
TRAIN = """\
(3 (2 The) (4 (4 good) (2 film)))
(1 (1 (0 awful) (2 film)) (2 .))

(2 (2 The) (2 film))
"""
DEV = """\
(3 (2 a) (3 nice))
(2 (2 so) (2 so))
(0 (0 bad) (2 one))
"""
TEST = """\
(4 (2 -LRB-) (4 (2 ``) (4 great) (2 '')) (2 -RRB-))
(1 (2 and\\/or) (1 dull))
"""


@pytest.fixture
def trees(tmp_path) -> Path:
    for name, text in (("train.txt", TRAIN), ("dev.txt", DEV), ("test.txt", TEST)):
        (tmp_path / name).write_text(text)
    return tmp_path


def rows(ds) -> list[tuple[str, str]]:
    names = ds.features["label"].names
    return [(t, names[y]) for t, y in zip(ds["text"], ds["label"])]


def test_every_node_is_a_phrase_root_first():
    assert parse_tree("(3 (2 The) (4 (4 good) (2 film)))", "x") == [
        ("The good film", 3),
        ("good film", 4),
        ("film", 2),
        ("good", 4),
        ("The", 2),
    ]


def test_fine_grained_trains_on_every_distinct_phrase_and_tests_on_sentences(trees):
    data = SSTTrees(str(trees), classes=5)()
    train = rows(data["train"])
    assert len(train) == 10 and len({t for t, _ in train}) == 10  # 13 nodes, "The" and "film" once each
    assert ("awful", "very negative") in train and ("good film", "very positive") in train and (".", "neutral") in train
    assert rows(data["validation"]) == [("a nice", "positive"), ("so so", "neutral"), ("bad one", "very negative")]
    assert [t for t, _ in rows(data["test"])] == ['( " great " )', "and/or dull"]  # roots only, PTB undone


def test_binary_drops_neutral_phrases_and_sentences(trees):
    data = SSTTrees(str(trees), classes=2)()
    assert sorted(rows(data["train"])) == [
        ("The good film", "positive"),
        ("awful", "negative"),
        ("awful film", "negative"),
        ("awful film .", "negative"),
        ("good", "positive"),
        ("good film", "positive"),
    ]
    assert rows(data["validation"]) == [("a nice", "positive"), ("bad one", "negative")]  # "so so" (2) dropped
    assert rows(data["test"]) == [('( " great " )', "positive"), ("and/or dull", "negative")]


@pytest.mark.parametrize(
    "line, message",
    [
        ("(3 (2 a) (2 b)", "line 2: unbalanced parentheses (1 '(' not closed)"),
        ("(3 (2 a)))", "line 2: unbalanced parentheses (a ')' closes nothing)"),
        ("(x (2 a))", "line 2: label 'x' is not an integer 0-4"),
        ("(7 (2 a))", "line 2: label '7' is not an integer 0-4"),
        ("(3 (2 a) ())", "line 2: a node without a label"),
        ("(3 (2 a) (2))", "line 2: a node without words"),
        ("(3 (2 a)) (2 b)", "line 2: text after the tree's closing parenthesis"),
        ("word (2 a)", "line 2: text outside parentheses: 'word'"),
    ],
)
def test_a_malformed_tree_is_a_one_line_error_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "train.txt"
    path.write_text("(2 (2 fine) (2 tree))\n" + line + "\n")
    with pytest.raises(DataError) as info:
        read_trees(path)
    assert str(info.value) == f"{path}: {message}"


def test_sst2_phrases_reads_the_trees_from_data_dir(train_config, trees):
    cfg = train_config("data=sst2_phrases", f"data.data_dir={trees}", "data.cache_dir=null")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")  # the trees, not train.csv and not the Hub
    assert {s: len(d) for s, d in dm.splits.items()} == {"train": 6, "validation": 2, "test": 2}
    assert dm.name == "sst2_phrases" and dm.label_names == ["negative", "positive"]


def test_sst5_phrases_needs_data_dir(train_config, trees):
    cfg = train_config("data=sst5_phrases")
    with pytest.raises(Exception) as info:
        hydra.utils.instantiate(cfg.data)
    assert isinstance(find_user_error(info.value), ConfigError)
    assert "set data.data_dir=FOLDER" in str(find_user_error(info.value))
    cfg = train_config("data=sst5_phrases", f"data.data_dir={trees}", "data.cache_dir=null")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup("fit")
    assert {s: len(d) for s, d in dm.splits.items()} == {"train": 10, "validation": 3, "test": 2}
    assert dm.num_classes == 5


def test_the_cache_tells_the_two_protocols_apart(train_config, trees, tmp_path):
    paths = []
    for config in ("sst2_phrases", "sst5_phrases"):
        cfg = train_config(f"data={config}", f"data.data_dir={trees}", f"data.cache_dir={tmp_path / 'cache'}")
        dm = hydra.utils.instantiate(cfg.data, name="sst")  # same name: only the reading differs
        dm.setup("fit")
        assert not dm.cache_hit
        paths.append(dm.cache_path)
    assert paths[0] != paths[1]


def test_a_folder_without_train_txt_is_a_one_line_error(tmp_path):
    with pytest.raises(DataError, match=rf"^data.data_dir: no train.txt in {tmp_path} "):
        SSTTrees(str(tmp_path))()


@pytest.mark.skipif(not (SHARED_TREES / "train.txt").is_file(), reason=f"no {SHARED_TREES}")
@pytest.mark.slow
def test_the_shared_trees_give_the_published_split_sizes():
    binary, fine = SSTTrees(str(SHARED_TREES), 2)(), SSTTrees(str(SHARED_TREES), 5)()
    assert {s: len(d) for s, d in binary.items()} == {"train": 77616, "validation": 872, "test": 1821}
    assert {s: len(d) for s, d in fine.items()} == {"train": 159273, "validation": 1101, "test": 2210}
