"""Helpers the tests share: the repository's paths, the summarizer list, tiny settings, and the real
Hydra configs composed as the training script composes them."""

from __future__ import annotations

from pathlib import Path

import src.utils.resolvers  # noqa: F401  (registers ${unique_id:} and friends before any compose)
from src.summarizers.registry import default_options, summarizer_names

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
SUMMARIZERS = summarizer_names()  # every conf/summarizer/*.yaml: a new one is tested with no edit here
TINY = [
    "logger=none",
    "data.source.n_train=200",
    "data.source.n_validation=100",
    "data.source.n_test=100",
    "model.embedding.dim=16",
    "model.head.width=16",
    "trainer.max_epochs=1",
]

# A small lstm_h run for the end-to-end tests (determinism, resume, faults, eval/predict); each adds
# its own data sizes, epochs and seed.
SMALL_LSTM = [
    "logger=none",
    "summarizer=lstm_h",
    "summarizer.hidden_size=16",
    "model.embedding.dim=16",
    "model.head.width=16",
]
SMALL_DATA = ["data.source.n_train=300", "data.source.n_validation=100", "data.source.n_test=100"]
# What results.json must agree on between two runs that should be the same run.
RUN_METRICS = ("test/acc", "test/f1", "val/acc_best", "test/acc_order_dependent", "test/acc_order_free", "epochs")


def tiny(summarizer: str) -> list[str]:
    """Small, fast settings for one summarizer (those without a hidden size keep their own)."""
    hidden = ["summarizer.hidden_size=16"] if "hidden_size" in default_options(summarizer) else []
    return [f"summarizer={summarizer}", *TINY, *hidden]


def compose_train_config(overrides: list[str], output_dir: Path | None = None, config_name: str = "train"):
    """The config `python -m src.<config_name> <overrides>` would run with (hydra node included)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


def tiny_classifier(train_file: Path):
    """An untrained mean-summarizer model (8-dim) sized from a one-file data module, and the data
    module: what tests of checkpoints and of predict need, in milliseconds."""
    from src.data.datamodule import FilesDataModule
    from src.model.module import SentenceClassifier

    data = FilesDataModule(train_file=str(train_file), cache_dir=None)
    data.setup("fit")
    model = SentenceClassifier(
        summarizer={"_target_": "src.summarizers.MeanSummarizer"},
        vocab_size=data.vocab_size,
        num_classes=data.num_classes,
        embedding={"dim": 8},
        head={"width": 8},
        label_names=data.label_names,
    )
    return model, data
