"""The Stanford Sentiment Treebank's PTB trees as a source: SST's phrase protocol (Kim 2014, SentEval).

A folder like ``../shared/data/sst_trees`` holds ``train.txt`` [``dev.txt``] [``test.txt``], one tree a
line, every node labelled 0-4: ``(3 (2 The) (4 (3 gorgeously) (2 elaborate)))``. :class:`SSTTrees`
reads it with ``classes=2`` (SST-2) or ``classes=5`` (SST-5):

* **train** is every labelled phrase (every node, whole sentences included) of the training trees,
  each distinct phrase text once: a phrase has one label in SST (its entry in the phrase
  dictionary), so repeats add weight to frequent short phrases ("the", ",": 8,000 copies of ".")
  and no information. SentEval and GLUE's SST-2 count distinct phrases likewise.
* **validation** and **test** are the whole dev and test sentences (the root nodes).
* **classes=2**: labels 0-1 are negative, 3-4 positive, and neutral (2) is dropped, phrases and
  sentences alike; **classes=5** keeps the five labels.
* **Tokens**: the trees' words joined by spaces, with the PTB escapes undone so that the word
  tokenizer sees the characters: ``-LRB-`` ``-RRB-`` (and the square/curly forms) become brackets,
  the quotes `````` and ``''`` become ``"``, and ``\\/`` ``\\*`` become ``/`` ``*``.

Bad input is a one-line :class:`DataError` naming the file and line (unbalanced parentheses, a
label that is not an integer 0-4, a node without words).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import datasets

from .sources import DataError, check_utf8, hash_file, with_origins

log = logging.getLogger(__name__)

FILES = {"train": "train.txt", "validation": "dev.txt", "test": "test.txt"}
NAMES = {
    2: ["negative", "positive"],
    5: ["very negative", "negative", "neutral", "positive", "very positive"],
}
BINARY = {0: 0, 1: 0, 3: 1, 4: 1}  # SST-2: neutral (2) has no class
PTB_ESCAPES = {
    "-LRB-": "(",
    "-RRB-": ")",
    "-LSB-": "[",
    "-RSB-": "]",
    "-LCB-": "{",
    "-RCB-": "}",
    "``": '"',
    "''": '"',
}
_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_VERSION = 1  # of the reading below; part of the tokenized-data cache key


def word(token: str) -> str:
    """A tree's token as text: PTB bracket and quote tokens undone, backslash escapes (``\\/``) dropped."""
    return PTB_ESCAPES.get(token) or re.sub(r"\\(.)", r"\1", token)


def parse_tree(line: str, where: str) -> list[tuple[str, int]]:
    """Every node of one tree as ``(its words joined by spaces, its label)``, the root first."""
    stack: list[tuple[list, list[str]]] = []  # per open node: [label or None], its words so far
    nodes: list[tuple[str, int]] = []
    for token in _TOKEN.findall(line):
        if token == "(":
            if not stack and nodes:
                raise DataError(f"{where}: text after the tree's closing parenthesis")
            stack.append(([None], []))
        elif token == ")":
            if not stack:
                raise DataError(f"{where}: unbalanced parentheses (a ')' closes nothing)")
            (label,), words = stack.pop()
            if label is None or not words:
                raise DataError(f"{where}: a node without {'a label' if label is None else 'words'}")
            nodes.append((" ".join(words), label))
            if stack:
                stack[-1][1].extend(words)
        elif not stack:
            raise DataError(f"{where}: text outside parentheses: {token[:40]!r}")
        elif stack[-1][0][0] is None and not stack[-1][1]:
            if not re.fullmatch(r"[0-4]", token):
                raise DataError(f"{where}: label {token[:40]!r} is not an integer 0-4")
            stack[-1][0][0] = int(token)
        else:
            stack[-1][1].append(word(token))
    if stack:
        raise DataError(f"{where}: unbalanced parentheses ({len(stack)} '(' not closed)")
    if not nodes:
        raise DataError(f"{where}: no tree")
    return nodes[::-1]  # closed children-first: the root closes last


def read_trees(path: Path) -> list[list[tuple[str, int]]]:
    """Every tree of ``path`` (one a line, blank lines skipped) as its nodes, root first."""
    check_utf8(path)
    with open(path, encoding="utf-8-sig") as f:
        return [parse_tree(line, f"{path}: line {number}") for number, line in enumerate(f, 1) if line.strip()]


class SSTTrees:
    """A folder of SST trees as a source (``data=sst2_phrases`` / ``sst5_phrases`` with ``data.data_dir``):
    distinct training phrases, dev and test sentences, ``classes`` 2 or 5 (see the module's docstring)."""

    def __init__(self, data_dir: str, classes: int = 2, text_column: str = "text", label_column: str = "label"):
        if classes not in NAMES:
            raise DataError(f"SST trees: classes must be 2 or 5, got {classes!r}")
        self.folder, self.classes = Path(data_dir).expanduser(), classes
        self.text_column, self.label_column = text_column, label_column

    def paths(self) -> dict[str, Path]:
        if not self.folder.is_dir():
            raise DataError(f"data.data_dir: no such folder: {self.folder}")
        paths = {split: self.folder / name for split, name in FILES.items() if (self.folder / name).is_file()}
        if "train" not in paths:
            raise DataError(f"data.data_dir: no {FILES['train']} in {self.folder} (the SST trees, one a line)")
        return paths

    def digest(self) -> str:
        """SHA-256 of the reading (classes, version) and of the files' bytes: the cache's key, no parsing."""
        digest = hashlib.sha256(f"sst_trees:{_VERSION}:{self.classes}".encode())
        for split, path in self.paths().items():
            digest.update(f"{split}:{path.stat().st_size}:".encode())
            hash_file(digest, path)
        return digest.hexdigest()

    def label(self, value: int) -> int | None:
        """A tree label as a class id, None for a neutral node in SST-2."""
        return BINARY.get(value) if self.classes == 2 else value

    def __call__(self) -> datasets.DatasetDict:
        paths = self.paths()
        features = datasets.Features(
            {
                self.text_column: datasets.Value("string"),
                self.label_column: datasets.ClassLabel(names=NAMES[self.classes]),
            }
        )
        out = {}
        for split, path in paths.items():
            trees = read_trees(path)
            if split == "train":
                distinct: dict[str, int] = {}
                for nodes in trees:
                    for text, value in nodes:
                        distinct.setdefault(text, value)
                rows = [(text, self.label(value)) for text, value in distinct.items()]
            else:
                rows = [(nodes[0][0], self.label(nodes[0][1])) for nodes in trees]
            kept = [(text, label) for text, label in rows if label is not None]
            what = f"distinct phrases of {sum(map(len, trees))} nodes" if split == "train" else "sentences"
            dropped = f", {len(rows) - len(kept)} neutral dropped" if self.classes == 2 else ""
            log.info("%s: %d %s (%d trees%s)", path, len(kept), what, len(trees), dropped)
            out[split] = datasets.Dataset.from_dict(
                {self.text_column: [t for t, _ in kept], self.label_column: [y for _, y in kept]}, features=features
            )
        return with_origins(datasets.DatasetDict(out), {split: str(path) for split, path in paths.items()})
