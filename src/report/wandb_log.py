"""The report's own W&B run (job_type=report) in the sweep's group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from src.report.plots import PLOTS


def log_report_to_wandb(
    sweep_dir: Path, project: str, group: str, tags: list[str] | None = None, entity: str | None = None
) -> str | None:
    """One extra W&B run (job_type=report) in the sweep's group: the summary as a table, the plots as
    images; for a sweep over several datasets also the matrix (``matrix``), the Bayesian
    comparison's pairs (``equivalence``), ``ranks.png``, ``equivalence.png``, the heatmap and each
    dataset's plots. Offline unless WANDB_MODE says otherwise; returns the run's
    local dir."""
    import wandb

    from src.utils.wandb_setup import configure_wandb_env

    configure_wandb_env()
    summary_path = sweep_dir / "summary.csv"
    run = wandb.init(
        project=project,
        entity=entity,
        group=group,
        job_type="report",
        name=f"report-{group}",
        tags=["report", *(tags or [])],
        dir=str(sweep_dir),
        reinit="finish_previous",
        config={"sweep_dir": str(sweep_dir)},
    )
    try:
        payload: dict[str, Any] = {}
        if summary_path.is_file():
            payload["summary"] = wandb.Table(dataframe=pd.read_csv(summary_path))
        if (sweep_dir / "results.csv").is_file():
            payload["jobs"] = wandb.Table(dataframe=pd.read_csv(sweep_dir / "results.csv").astype(str))
        for table in ("matrix", "equivalence"):  # a benchmark's: the matrix, the Bayesian comparison's pairs
            if (sweep_dir / f"{table}.csv").is_file():
                payload[table] = wandb.Table(dataframe=pd.read_csv(sweep_dir / f"{table}.csv"))
        # the single-dataset plots first, then every other figure the report wrote (a benchmark's)
        names = [n for n in PLOTS if (sweep_dir / n).is_file()]
        names += sorted(p.name for p in sweep_dir.glob("*.png") if p.name not in names)
        payload.update({f"plots/{name[:-4]}": wandb.Image(str(sweep_dir / name)) for name in names})
        run.log(payload)
        return run.dir
    finally:
        run.finish()
