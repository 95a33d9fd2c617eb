"""The Hydra callback that writes the report when a multirun ends (``conf/hydra/default.yaml``)."""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback

from src.report.wandb_log import log_report_to_wandb
from src.report.writer import write_report

log = logging.getLogger(__name__)


def report_datasets(sweep_dir: Path) -> list[str]:
    """The datasets the sweep's jobs ran on (results.csv ``data``), in job order: the report run's tags."""
    import pandas as pd

    from src.report.benchmark import datasets_of

    path = sweep_dir / "results.csv"
    return datasets_of(pd.read_csv(path)) if path.is_file() else []


class SweepReportCallback(Callback):
    """Writes (and prints) the report when a multirun ends, and logs it to W&B when jobs used W&B."""

    def on_multirun_end(self, config, **kwargs) -> None:
        import matplotlib
        from omegaconf import OmegaConf

        matplotlib.use("Agg")  # no display needed, also on a cluster node
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            text = write_report(sweep_dir)
        except Exception:  # the jobs' results are safe; say how to retry
            log.exception("sweep report failed; rerun it with: python -m src.report %s", sweep_dir)
            return
        print(f"\nSweep report: {sweep_dir / 'report.md'}\n\n{text}", flush=True)
        wandb_cfg = OmegaConf.select(config, "logger.wandb", default=None)
        if wandb_cfg is not None:
            try:
                tags = report_datasets(sweep_dir) or [str(OmegaConf.select(config, "data.name", default="data"))]
                log_report_to_wandb(
                    sweep_dir,
                    project=wandb_cfg.get("project", "seq2vec"),
                    group=sweep_dir.name,
                    entity=wandb_cfg.get("entity"),
                    tags=tags,
                )
            except Exception:
                log.exception("logging the sweep report to W&B failed")
