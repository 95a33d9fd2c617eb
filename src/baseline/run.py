"""The command: ``python -m src.baseline baseline=fasttext|nbsvm data=<config> seed=N`` (``-m`` sweeps).

Data exactly as ``src.train`` builds it (``hydra.utils.instantiate(cfg.data)``, ``setup("fit")``),
the baseline's grid checked before any data is read, the point chosen on validation, the test split
scored once, ``results.json`` and ``predictions.csv`` in the run dir. Bad input stops with
``error: <one line>`` and exit status 2, a failed job of a sweep is recorded and the sweep goes on:
``src.utils.cli.user_errors``, as in ``src.train``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from src.utils import resolvers  # noqa: F401  (registers ${unique_id:} etc. before Hydra composes)
from src.utils.cli import check_settings, user_errors

log = logging.getLogger("src.baseline")
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def baseline_class(cfg: DictConfig):
    """The class named by ``baseline._target_`` and the grid of its settings (checked)."""
    from src.summarizers.base import ConfigError

    from .grid import grid_points

    settings = OmegaConf.to_container(cfg.baseline, resolve=True)
    target = settings.pop("_target_", None)
    try:
        cls = hydra.utils.get_class(str(target))
    except Exception as exc:  # noqa: BLE001  (any failure to find it is a bad setting: one line)
        raise ConfigError(f"baseline._target_: no baseline class {target!r} ({type(exc).__name__})") from None
    return cls, grid_points(settings, cls.SETTINGS)


def data_metric(cfg: DictConfig, datamodule) -> str | None:
    """The metric the data config judges its set by (``data.metric``), or None: accuracy."""
    from .scores import check_metric

    name = getattr(datamodule, "metric", None) or OmegaConf.select(cfg, "data.metric", default=None)
    return None if name is None else check_metric(name)


def run(cfg: DictConfig) -> dict:
    """Choose on validation, test once, write ``results.json`` (last: its presence means a finished run)."""
    from src.model.majority import majority_scores
    from src.summarizers.base import ConfigError
    from src.utils.io import atomic_write, write_json_atomic

    from .grid import select
    from .scores import scores
    from .splits import read_split

    job_start = time.perf_counter()
    check_settings(cfg)  # data.*, seed, threads: the lines src.train gives
    if cfg.seed is None:  # src.train draws one; a baseline's run is repeated by its seed
        raise ConfigError("seed must be a non-negative integer for a baseline, got None")
    cls, points = baseline_class(cfg)  # bad settings fail before any data is touched
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    with open_dict(cfg):
        cfg.data.name = datamodule.name
    metric = data_metric(cfg, datamodule)
    train, validation, test = (read_split(datamodule, s) for s in ("train", "validation", "test"))
    log.info(
        "%s on %s: %d settings to try on validation (train %d, validation %d, test %d)",
        cfg.summarizer_name,
        datamodule.name,
        len(points),
        len(train),
        len(validation),
        len(test),
    )
    start = time.perf_counter()
    baseline = cls(train, seed=int(cfg.seed))
    chosen = select(lambda point: baseline.fit(**point), points, validation, metric)
    selection_seconds = time.perf_counter() - start
    preds = chosen.model.predict(test.tokens)
    tested = scores(test.labels, preds, metric)

    results = {
        "summarizer": cfg.summarizer_name,
        "kind": "baseline",
        "seed": int(cfg.seed),
        "data": datamodule.name,
        "fold": cfg.data.get("fold"),
        "folds": cfg.data.get("folds"),
        **{f"test/{k}": v for k, v in tested.items()},
        **{f"val/{k}": v for k, v in chosen.scores.items()},
        "val/acc_best": chosen.scores["acc"],  # the key src.train's results (and the report) have
        **({"metric": metric} if metric else {}),
        **majority_scores(train.labels, test.labels, metric or "accuracy"),
        **subset_accuracy(datamodule.subset_names, test, preds),
        "settings": chosen.point,
        "grid": chosen.rows,
        "threads": cfg.get("threads"),
        "train_seconds": round(chosen.seconds, 2),  # the chosen point's fit
        "selection_seconds": round(selection_seconds, 2),  # every point's fit and validation
        "status": "ok",
    }
    results["job_seconds"] = round(time.perf_counter() - job_start, 2)
    output_dir = Path(cfg.paths.output_dir)
    with atomic_write(output_dir / "predictions.csv", "w") as f:
        predictions(datamodule.subset_names, test, preds).to_csv(f, index=False)
    write_json_atomic(output_dir / "results.json", results)
    log.info("results: %s", {k: results[k] for k in ("test/acc", "test/f1", "val/acc", "settings")})
    return results


def subset_accuracy(subset_names: list[str], test, preds) -> dict[str, float]:
    """``test/acc_<subset>`` for each slice the data names (the built-in data's order_dependent etc.)."""
    if test.subsets is None:
        return {}
    out = {}
    for i, name in enumerate(subset_names):
        mask = test.subsets == i
        if mask.any():
            out[f"test/acc_{name}"] = float((preds[mask] == test.labels[mask]).mean())
    return out


def predictions(subset_names: list[str], test, preds):
    """Per test example, in the columns of ``src.train``'s predictions.csv that the report reads."""
    import pandas as pd

    frame = pd.DataFrame({"index": range(len(test)), "label": test.labels, "pred": preds, "length": test.lengths})
    if test.subsets is not None:
        frame["subset"] = [subset_names[i] for i in test.subsets]
    if test.distances is not None:
        frame["distance"] = test.distances
    if test.full_lengths is not None:
        frame["full_length"] = test.full_lengths
    return frame


def job_record(cfg: DictConfig) -> dict:
    """What a results.json says of a job that has no results."""
    return {
        "summarizer": cfg.get("summarizer_name"),
        "kind": "baseline",
        "seed": cfg.get("seed"),
        "data": OmegaConf.select(cfg, "data.name"),
        "fold": OmegaConf.select(cfg, "data.fold"),
    }


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="baseline")
@user_errors(failure_record=job_record)
def main(cfg: DictConfig) -> float | None:
    """Returns the chosen point's validation score, the objective a hyperparameter sweep would use."""
    results = run(cfg)
    return results[f"val/{results.get('metric', 'acc')}"]
