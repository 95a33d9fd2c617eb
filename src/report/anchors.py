"""Published accuracies to read our numbers against (``anchors.csv``, beside this module).

Each row: dataset, method, accuracy (%), init (random / pretrained word vectors, or none for an
n-gram model), protocol (10-fold CV or a fixed split; phrase or sentence labels for SST) and
source. They were obtained by other models under other protocols, so the report shows them in
rows of their own, never ranked, bolded or tested against ours.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ANCHORS_CSV = Path(__file__).with_name("anchors.csv")
COLUMNS = ["dataset", "method", "accuracy", "init", "protocol", "source"]
# Our dataset names (results.json `data`: a data config's name or a data folder's name) -> the
# anchors' names for the same sentences.
ALIASES = {
    "rotten_tomatoes": "mr",
    "rt-polarity": "mr",
    "rt_polarity": "mr",
    "movie_review": "mr",
    "custrev": "cr",
    "customer_reviews": "cr",
    "sst-2": "sst2",
    "sst_2": "sst2",
    "sst-1": "sst5",
    "sst1": "sst5",
    "sst_5": "sst5",
    "sst-5": "sst5",
    "trec6": "trec",
    "trec-6": "trec",
}


def anchor_key(dataset: str) -> str:
    name = str(dataset).strip().lower()
    return ALIASES.get(name, name)


def load_anchors(path: str | Path = ANCHORS_CSV) -> pd.DataFrame:
    anchors = pd.read_csv(path)
    missing = set(COLUMNS) - set(anchors.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return anchors[COLUMNS]


def anchors_for(datasets: list[str], anchors: pd.DataFrame | None = None) -> pd.DataFrame:
    """The anchors of the given datasets, one row per (method, our dataset name); empty when none."""
    anchors = load_anchors() if anchors is None else anchors
    keys = {d: anchor_key(d) for d in datasets}
    rows = [
        row | {"data": d} for d, key in keys.items() for row in anchors[anchors["dataset"] == key].to_dict("records")
    ]
    return pd.DataFrame(rows, columns=[*COLUMNS, "data"])
