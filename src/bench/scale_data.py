"""The documents of the scale bench (``src.bench.scale``): a set of any size, drawn from MR's
sentences or the built-in generator's, and the overrides that prepare it as ``data=files`` does."""

from __future__ import annotations

import csv
import re
import statistics
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MR_TRAIN = REPO.parent / "shared" / "data" / "mr" / "train.csv"
WORD = re.compile(r"\w+|[^\w\s]+")  # what the Whitespace pre-tokenizer splits on


def source_sentences() -> tuple[list[str], list[int], str]:
    """Sentences and their labels to build documents from: MR's training set when present, else the
    built-in generator's."""
    if MR_TRAIN.is_file():
        with open(MR_TRAIN, encoding="utf-8-sig", newline="") as f:
            rows = [(r["text"], int(r["label"])) for r in csv.DictReader(f) if r["text"].strip()]
        return [t for t, _ in rows], [y for _, y in rows], str(MR_TRAIN)
    from src.data.synthetic import make_order_sentiment

    train = make_order_sentiment(n_train=8000, n_validation=2, n_test=2)["train"]
    return list(train["text"]), list(train["label"]), "the built-in generator"


def write_documents(path: Path, docs: int, sentences: list[str], labels: list[int], tokens_per_doc: int) -> None:
    """``docs`` documents of randomly drawn sentences (about ``tokens_per_doc`` tokens each); a
    document's label is its first sentence's."""
    per_doc = tokens_per_doc / statistics.mean(len(WORD.findall(s)) for s in sentences)  # sentences a document
    fewer = max(1, int(per_doc))
    rng = np.random.default_rng(docs)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for start in range(0, docs, 50_000):
            n = min(50_000, docs - start)
            drawn = rng.integers(0, len(sentences), size=(n, fewer + 1))
            counts = fewer + (rng.random(n) < per_doc - fewer)  # fewer or fewer + 1, on average per_doc
            writer.writerows(
                (" ".join(sentences[i] for i in row[:count]), labels[row[0]]) for row, count in zip(drawn, counts)
            )


def data_overrides(csv_path: str, cache_dir: str) -> list[str]:
    return ["data=files", f"data.train_file={csv_path}", f"data.cache_dir={cache_dir}", "logger=none"]
