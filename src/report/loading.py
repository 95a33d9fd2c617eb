"""Reading a sweep dir: one row per job (results.json, overrides), per-example predictions and
validation curves."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FOLD_OVERRIDE = "data.fold"  # cross-validation folds are replicates, like seeds


def job_order(path: Path) -> tuple[int, str]:
    """Sort key of a sweep's job dirs: by job number ("10_x" after "9_x"), others last."""
    head = path.name.split("_", 1)[0]
    return (int(head) if head.isdigit() else 1 << 30, path.name)


def _overrides(job_dir: Path) -> dict[str, str]:
    """The job's command-line and sweep overrides (``.hydra/overrides.yaml``), as key -> value."""
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    from omegaconf import OmegaConf

    pairs = (str(o).split("=", 1) for o in OmegaConf.load(path) if "=" in str(o))
    return {k.lstrip("+~"): v for k, v in pairs if not k.startswith("hydra")}


def _dataset_name(job_dir: Path) -> str | None:
    """The dataset a job ran on, from its saved config, for jobs whose results.json does not say
    (a failed job's): ``data.name``, else the folder ``FilesDataModule`` names the data after."""
    path = job_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    try:
        data = OmegaConf.to_container(OmegaConf.load(path).get("data") or {}, resolve=False)
    except Exception:  # noqa: BLE001  (an unreadable config only costs the dataset's name)
        return None
    name = data.get("name")
    if isinstance(name, str) and name and "${" not in name:
        return name
    anchor = data.get("data_dir") or data.get("train_file") or data.get("test_file") or data.get("validation_file")
    if not isinstance(anchor, str) or "${" in anchor:
        return None
    anchor_path = Path(anchor).expanduser()
    if data.get("data_dir"):
        return anchor_path.name
    return (
        anchor_path.parent.name
        if anchor_path.stem in ("train", "validation", "dev", "valid", "test")
        else anchor_path.stem
    )


def load_jobs(sweep_dir: str | Path) -> pd.DataFrame:
    """One row per job dir (a subdir holding ``results.json`` or ``.hydra/``); a job with no
    readable results.json is listed as failed rather than dropped."""
    rows = []
    job_dirs = [
        p
        for p in Path(sweep_dir).iterdir()
        if p.is_dir() and ((p / "results.json").is_file() or (p / ".hydra").is_dir())
    ]
    for job_dir in sorted(job_dirs, key=job_order):
        overrides = _overrides(job_dir)
        try:
            row = json.loads((job_dir / "results.json").read_text())
        except FileNotFoundError:
            row = {"status": "failed", "error": "no results.json (the job was killed or is still running)"}
        except (OSError, json.JSONDecodeError) as exc:
            row = {"status": "failed", "error": f"unreadable results.json: {exc}"}
        row.setdefault("summarizer", overrides.get("summarizer"))
        if row.get("seed") is None and "seed" in overrides:
            row["seed"] = int(overrides["seed"])
        if row.get("fold") is None and FOLD_OVERRIDE in overrides:  # a cross-validation fold: a replicate
            row["fold"] = int(overrides[FOLD_OVERRIDE])
        if row.get("data") is None and (name := _dataset_name(job_dir)):
            row["data"] = name
        rows.append({"job": job_dir.name, **row, "_overrides": overrides})
    jobs = pd.DataFrame(rows)
    if jobs.empty:
        return jobs
    jobs["variant"] = None
    datasets = jobs["data"].fillna("") if "data" in jobs else pd.Series("", index=jobs.index)
    by_dataset = (
        [jobs.index]
        if datasets[datasets != ""].nunique() < 2
        else [group.index for _, group in jobs.groupby(datasets, sort=False)]
    )
    for index in by_dataset:  # within one dataset, what tells its jobs apart (not the dataset's own overrides)
        jobs.loc[index, "variant"] = _variant_labels(jobs.loc[index])
    return jobs.drop(columns="_overrides")


def _short_value(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.3g}" if not number.is_integer() else str(int(number))


def _variant_labels(jobs: pd.DataFrame) -> list[str]:
    """Summarizer name, plus any override other than seed that varies between jobs."""
    overrides = jobs["_overrides"].tolist()
    keys = sorted({k for o in overrides for k in o} - {"seed", "summarizer", FOLD_OVERRIDE})
    varying = [k for k in keys if len({o.get(k) for o in overrides}) > 1]
    labels = []
    for summarizer, o in zip(jobs["summarizer"], overrides):
        extra = " ".join(f"{'.'.join(k.split('.')[-2:])}={_short_value(o[k])}" for k in varying if k in o)
        labels.append(f"{summarizer} {extra}".strip() if extra else str(summarizer))
    return labels


def load_predictions(sweep_dir: str | Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """Every ok job's per-example test predictions, tagged with variant and seed (and dataset and
    fold when the sweep has them)."""
    frames = []
    tags = [c for c in ("data", "fold") if c in jobs]
    for job in jobs[jobs["status"] == "ok"].itertuples():
        path = Path(sweep_dir) / job.job / "predictions.csv"
        if path.is_file():
            frame = pd.read_csv(path)
            frames.append(
                frame.assign(
                    variant=job.variant,
                    seed=job.seed,
                    job=job.job,
                    correct=(frame["pred"] == frame["label"]).astype(float),
                    **{c: getattr(job, c) for c in tags},
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_val_curves(sweep_dir: str | Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """val/acc per epoch of every ok job, from the CSVLogger's ``csv/metrics.csv``."""
    frames = []
    for job in jobs[jobs["status"] == "ok"].itertuples():
        path = Path(sweep_dir) / job.job / "csv" / "metrics.csv"
        if not path.is_file():
            continue
        metrics = pd.read_csv(path)
        if "val/acc" not in metrics:
            continue
        curve = metrics.dropna(subset=["val/acc"]).groupby("epoch", as_index=False)["val/acc"].last()
        frames.append(curve.assign(variant=job.variant, seed=job.seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
