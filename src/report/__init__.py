"""Sweep report: the comparison a paper needs, from the job dirs of one multirun.

``python -m src.report SWEEP_DIR [--rope POINTS]`` (also a single run's own dir) and, automatically,
at the end of every multirun (the Hydra callback ``SweepReportCallback``, wired in
``conf/hydra/default.yaml``). Reads each job's ``results.json``, ``csv/metrics.csv`` and
``predictions.csv`` and writes into the sweep dir:

- ``report.md``: test score per summarizer in the dataset's metric (accuracy unless the runs name
  macro-F1 or MCC), mean +- 95% t-interval over seeds, accuracy, macro-F1, size, cost, order
  sensitivity (accuracy lost when each test sentence's words are shuffled) and a paired comparison
  with the best summarizer (paired t-test over seeds with >= 2 seeds, else a paired bootstrap over
  test examples); the majority-class row; accuracy by input length; failed jobs. n-gram baseline
  jobs (``python -m src.baseline``) are rows of their own, marked ``(baseline)``.
- ``results.csv`` (one row per job, failed ones too) and ``summary.csv`` (one row per summarizer).
- ``accuracy.png``, ``val_curves.png``, ``length_buckets.png``, ``efficiency.png``.

Jobs that differ in more than summarizer and seed (an Optuna study, a grid over hidden sizes)
are grouped by those other overrides too, so each configuration gets its own row.

A sweep whose jobs ran on several datasets gets the cross-dataset report instead: the matrix of
summarizers x datasets with the majority-class row and published anchors beneath, ranks and a
Friedman/Nemenyi test across datasets (``ranks.png``), the Bayesian comparison with a region of
practical equivalence (``equivalence.csv``, ``equivalence.png``), ``accuracy_heatmap.png``, then
each dataset's own report (``benchmark*``).

Modules: ``loading`` (job dirs), ``metrics`` (each dataset's metric, the majority-class score),
``stats`` (intervals, paired tests, length buckets), ``lengths`` (which length, truncation),
``plots``, ``tables`` (markdown), ``sections`` (one dataset's sections, shared by both reports),
``writer`` (``write_report``), ``wandb_log``, ``callback`` (the Hydra callback), ``cli`` (``python
-m src.report``); ``benchmark`` (the matrix), ``ranking`` (rank tests across datasets),
``equivalence`` (the Bayesian comparison), ``anchors`` (+ ``anchors.csv``), ``benchmark_plots``,
``benchmark_report``.
"""

from src.report.benchmark import build_benchmark, is_benchmark
from src.report.callback import SweepReportCallback
from src.report.cli import main
from src.report.loading import load_jobs, load_predictions, load_val_curves
from src.report.plots import PLOTS, plot_accuracy, plot_efficiency, plot_length_buckets, plot_val_curves
from src.report.ranking import rank_test
from src.report.stats import (
    ALPHA,
    BOOTSTRAP_RESAMPLES,
    CONFIDENCE,
    SUMMARIZER_ORDER,
    compare_with,
    length_buckets,
    paired_bootstrap,
    paired_t_test,
    subset_metrics,
    summarize,
    t_interval,
)
from src.report.tables import buckets_table, jobs_table, summary_table
from src.report.wandb_log import log_report_to_wandb
from src.report.writer import write_report

__all__ = [
    "ALPHA",
    "BOOTSTRAP_RESAMPLES",
    "CONFIDENCE",
    "PLOTS",
    "SUMMARIZER_ORDER",
    "SweepReportCallback",
    "buckets_table",
    "build_benchmark",
    "compare_with",
    "is_benchmark",
    "jobs_table",
    "length_buckets",
    "load_jobs",
    "load_predictions",
    "load_val_curves",
    "log_report_to_wandb",
    "main",
    "paired_bootstrap",
    "paired_t_test",
    "plot_accuracy",
    "plot_efficiency",
    "plot_length_buckets",
    "plot_val_curves",
    "rank_test",
    "subset_metrics",
    "summarize",
    "summary_table",
    "t_interval",
    "write_report",
]
