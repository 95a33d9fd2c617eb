"""Sweep report: the comparison a paper needs, from the job dirs of one multirun.

``python -m src.report SWEEP_DIR`` and, automatically, at the end of every multirun (the Hydra
callback below, wired in ``conf/hydra/default.yaml``). Reads each job's ``results.json``,
``csv/metrics.csv`` and ``predictions.csv`` and writes into the sweep dir:

- ``report.md``: test accuracy per summarizer, mean +- 95% t-interval over seeds, macro-F1, size,
  cost, order sensitivity (accuracy lost when each test sentence's words are shuffled) and a
  paired comparison with the best summarizer (paired t-test over seeds with >= 2 seeds, else a
  paired bootstrap over test examples); accuracy by input length; failed jobs.
- ``results.csv`` (one row per job, failed ones too) and ``summary.csv`` (one row per summarizer).
- ``accuracy.png``, ``val_curves.png``, ``length_buckets.png``, ``efficiency.png``.

Jobs that differ in more than summarizer and seed (an Optuna study, a grid over hidden sizes)
are grouped by those other overrides too, so each configuration gets its own row.
"""
from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.experimental.callback import Callback

from src.summarizers.registry import summarizer_names

log = logging.getLogger(__name__)
SUMMARIZER_ORDER = summarizer_names()
CONFIDENCE = 0.95
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 10_000
LENGTH_BUCKETS = 5
PLOTS = ("accuracy.png", "val_curves.png", "length_buckets.png", "efficiency.png")
SHUFFLED, ORDER_DROP = "test/acc_shuffled", "test/order_drop"


# ---------------------------------------------------------------------------------------- loading
def _job_number(path: Path) -> tuple[int, str]:
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


def load_jobs(sweep_dir: str | Path) -> pd.DataFrame:
    """One row per job dir (a subdir holding ``results.json`` or ``.hydra/``); a job with no
    readable results.json is listed as failed rather than dropped."""
    rows = []
    job_dirs = [p for p in Path(sweep_dir).iterdir()
                if p.is_dir() and ((p / "results.json").is_file() or (p / ".hydra").is_dir())]
    for job_dir in sorted(job_dirs, key=_job_number):
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
        rows.append({"job": job_dir.name, **row, "_overrides": overrides})
    jobs = pd.DataFrame(rows)
    if jobs.empty:
        return jobs
    jobs["variant"] = _variant_labels(jobs)
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
    keys = sorted({k for o in overrides for k in o} - {"seed", "summarizer"})
    varying = [k for k in keys if len({o.get(k) for o in overrides}) > 1]
    labels = []
    for summarizer, o in zip(jobs["summarizer"], overrides):
        extra = " ".join(f"{'.'.join(k.split('.')[-2:])}={_short_value(o[k])}" for k in varying if k in o)
        labels.append(f"{summarizer} {extra}".strip() if extra else str(summarizer))
    return labels


def load_predictions(sweep_dir: str | Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """Every ok job's per-example test predictions, tagged with variant and seed."""
    frames = []
    for job in jobs[jobs["status"] == "ok"].itertuples():
        path = Path(sweep_dir) / job.job / "predictions.csv"
        if path.is_file():
            frame = pd.read_csv(path)
            frames.append(frame.assign(variant=job.variant, seed=job.seed, job=job.job,
                                       correct=(frame["pred"] == frame["label"]).astype(float)))
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


# ---------------------------------------------------------------------------------------- statistics
def t_interval(values: Any, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Mean and half-width of the two-sided t confidence interval (NaN half-width below 2 values)."""
    from scipy import stats

    values = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    if len(values) == 0:
        return math.nan, math.nan
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan
    sem = values.std(ddof=1) / math.sqrt(len(values))
    return mean, float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * sem)


def paired_t_test(a: Any, b: Any) -> float:
    """Two-sided p of a paired t-test; constant differences give 1 (all zero) or 0 (all equal, not zero)."""
    from scipy import stats

    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if np.allclose(diffs, diffs[0]):
        return 1.0 if np.isclose(diffs[0], 0.0) else 0.0
    return float(stats.ttest_rel(a, b).pvalue)


def paired_bootstrap(correct_a: Any, correct_b: Any, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = 0) -> tuple[float, float, tuple[float, float]]:
    """Paired bootstrap over test examples of acc(a) - acc(b): (difference, two-sided p, 95% CI).

    Each example contributes d = correct_a - correct_b in {-1, 0, 1}, so a resample is exactly a
    multinomial draw of the three counts. p is the share of resampled differences at least as far
    from the observed one as the observed is from 0 (the shifted-null bootstrap test).
    """
    d = np.asarray(correct_a, dtype=float) - np.asarray(correct_b, dtype=float)
    n = len(d)
    if n == 0:
        return math.nan, math.nan, (math.nan, math.nan)
    observed = float(d.mean())
    shares = np.array([(d == 1).mean(), (d == 0).mean(), (d == -1).mean()])
    counts = np.random.default_rng(seed).multinomial(n, shares / shares.sum(), size=resamples)
    boot = (counts[:, 0] - counts[:, 2]) / n
    p = float(np.mean(np.abs(boot - observed) >= abs(observed) - 1e-12)) if observed else 1.0
    low, high = np.quantile(boot, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return observed, p, (float(low), float(high))


def _variant_order(variants: list[str]) -> list[str]:
    def key(v: str):
        name = v.split(" ", 1)[0]
        return (SUMMARIZER_ORDER.index(name) if name in SUMMARIZER_ORDER else len(SUMMARIZER_ORDER), v)
    return sorted(set(variants), key=key)


def subset_metrics(jobs: pd.DataFrame) -> list[str]:
    """``test/acc_<subset>`` columns (e.g. order_dependent, order_free), not the shuffled probe."""
    return sorted(c for c in jobs.columns if c.startswith("test/acc_") and c != SHUFFLED)


def summarize(jobs: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: means over seeds with 95% t-intervals, and the comparison with the best."""
    ok = jobs[jobs["status"] == "ok"].copy()
    if ok.empty:
        return pd.DataFrame()
    if SHUFFLED in ok and ORDER_DROP not in ok:
        ok[ORDER_DROP] = ok["test/acc"] - ok[SHUFFLED]
    rows = []
    for variant in _variant_order(ok["variant"].tolist()):
        group = ok[ok["variant"] == variant]
        acc, acc_ci = t_interval(group["test/acc"])
        row = {"variant": variant, "summarizer": group["summarizer"].iloc[0], "seeds": len(group),
               "test_acc": acc, "test_acc_ci": acc_ci}
        for column, name in [("test/f1", "macro_f1"), ("val/acc_best", "val_acc_best"), (SHUFFLED, "acc_shuffled"),
                             (ORDER_DROP, "order_sensitivity"), ("train_seconds", "train_seconds"),
                             ("tokens_per_second", "tokens_per_second"), ("params", "params"),
                             *[(s, s.replace("test/acc_", "acc_")) for s in subset_metrics(ok)]]:
            if column in group:
                row[name], row[f"{name}_ci"] = t_interval(group[column])
        rows.append(row)
    summary = pd.DataFrame(rows)
    best = summary.loc[summary["test_acc"].idxmax(), "variant"]
    summary["best"] = summary["variant"] == best
    comparisons = [compare_with(ok, predictions, best, v) for v in summary["variant"]]
    summary = pd.concat([summary, pd.DataFrame(comparisons)], axis=1)
    return summary


def compare_with(ok: pd.DataFrame, predictions: pd.DataFrame, best: str, variant: str) -> dict:
    """acc(variant) - acc(best), paired over shared seeds (t-test) or, with fewer than two shared
    seeds, over the shared seeds' test examples (bootstrap)."""
    none = {"diff_vs_best": math.nan, "p_vs_best": math.nan, "test_vs_best": ""}
    if variant == best:
        return {**none, "test_vs_best": "best"}
    a = ok[ok["variant"] == variant].groupby("seed")["test/acc"].mean()
    b = ok[ok["variant"] == best].groupby("seed")["test/acc"].mean()
    seeds = sorted(set(a.index) & set(b.index))
    if len(seeds) >= 2:
        return {"diff_vs_best": float((a[seeds] - b[seeds]).mean()), "p_vs_best": paired_t_test(a[seeds], b[seeds]),
                "test_vs_best": f"paired t-test, {len(seeds)} seeds"}
    if predictions.empty or not seeds:
        return none
    keys = ["seed", "index"]
    pa = predictions[(predictions["variant"] == variant) & predictions["seed"].isin(seeds)]
    pb = predictions[(predictions["variant"] == best) & predictions["seed"].isin(seeds)]
    pairs = pa.merge(pb, on=keys, suffixes=("_a", "_b"))
    pairs = pairs[pairs["label_a"] == pairs["label_b"]]  # the same example in both (same data seed)
    if pairs.empty:
        return none
    diff, p, _ = paired_bootstrap(pairs["correct_a"], pairs["correct_b"])
    return {"diff_vs_best": diff, "p_vs_best": p, "test_vs_best": f"paired bootstrap, {len(pairs)} examples"}


def length_buckets(predictions: pd.DataFrame, buckets: int = LENGTH_BUCKETS) -> pd.DataFrame:
    """Accuracy per variant in input-length buckets (quantiles of all test lengths, in tokens)."""
    if predictions.empty:
        return pd.DataFrame()
    edges = np.unique(np.quantile(predictions["length"], np.linspace(0, 1, buckets + 1)).round())
    if len(edges) < 2:
        edges = np.array([predictions["length"].min() - 1, predictions["length"].max()])
    edges[0] -= 1  # intervals are (low, high]: the shortest input belongs to the first bucket
    labels = [f"{int(lo) + 1}-{int(hi)}" for lo, hi in zip(edges[:-1], edges[1:])]
    bucket = pd.cut(predictions["length"], edges, labels=labels)
    table = (predictions.assign(bucket=bucket).groupby(["variant", "bucket"], observed=True)["correct"]
             .agg(accuracy="mean", examples="size").reset_index())
    return table


# ---------------------------------------------------------------------------------------- plots
def _colors(variants: list[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {v: cmap(i % 10) for i, v in enumerate(variants)}


def _save(fig, path: Path, rect=(0, 0, 1, 1)) -> None:
    """Lay out, write and close (figures left open pile up across a long sweep's reports)."""
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_accuracy(summary: pd.DataFrame, jobs: pd.DataFrame, predictions: pd.DataFrame, path: Path) -> None:
    """Point-and-interval plot: test accuracy (seeds as dots), subsets and shuffled words."""
    import matplotlib.pyplot as plt

    # (column, legend label, marker, colour): the probe always grey, subsets in their own colours
    metrics = [("test_acc", "whole test set (mean, 95% CI)", "o", "#1f77b4")]
    subsets = [c for c in summary.columns if c.startswith("acc_") and not c.endswith("_ci") and c != "acc_shuffled"]
    metrics += [(c, c.replace("acc_", "") + " subset", m, k)
                for c, m, k in zip(subsets, "s^vP*", ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"])]
    if "acc_shuffled" in summary:
        metrics.append(("acc_shuffled", "words shuffled (order probe)", "D", "#7f7f7f"))
    x = np.arange(len(summary))
    width = min(0.8 / len(metrics), 0.25)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * len(summary) + 2), 4.8))
    for i, (column, label, marker, color) in enumerate(metrics):
        offset = (i - (len(metrics) - 1) / 2) * width
        ci = summary.get(f"{column}_ci", pd.Series(np.nan, index=summary.index)).fillna(0) * 100
        ax.errorbar(x + offset, summary[column] * 100, yerr=ci, fmt=marker, color=color, capsize=3, markersize=6,
                    label=label)
    ok = jobs[jobs["status"] == "ok"]
    for xi, variant in zip(x, summary["variant"]):
        seeds = ok.loc[ok["variant"] == variant, "test/acc"] * 100
        ax.scatter(np.full(len(seeds), xi - (len(metrics) - 1) / 2 * width - 0.08), seeds, s=12,
                   color="#1f77b4", alpha=0.5, label="single seeds" if xi == 0 else None)
    if not predictions.empty:
        majority = predictions.groupby(["job"])["label"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
        ax.axhline(majority.mean() * 100, color="black", linestyle=":", linewidth=1, label="majority class")
    ax.set_xticks(x, summary["variant"], rotation=20 if summary["variant"].str.len().max() > 8 else 0, ha="right"
                  if summary["variant"].str.len().max() > 8 else "center")
    ax.set_xlabel("summarizer")
    ax.set_ylabel("test accuracy (%)")
    data = ", ".join(sorted(set(map(str, jobs.get("data", pd.Series(dtype=str)).dropna()))))
    ax.set_title(f"Test accuracy per summarizer{' on ' + data if data else ''} "
                 f"({int(summary['seeds'].max())} seed{'s' if summary['seeds'].max() > 1 else ''})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(3, len(metrics) + 2), fontsize=9,
              frameon=False)
    _save(fig, path)


def plot_val_curves(curves: pd.DataFrame, variants: list[str], path: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    colors = _colors(variants)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for variant in variants:
        group = curves[curves["variant"] == variant]
        if group.empty:
            continue
        stats = group.groupby("epoch")["val/acc"].agg(["mean", "min", "max"])
        epochs = stats.index + 1
        ax.plot(epochs, stats["mean"] * 100, marker=".", color=colors[variant], label=variant)
        ax.fill_between(epochs, stats["min"] * 100, stats["max"] * 100, color=colors[variant], alpha=0.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("Validation accuracy (mean over seeds still training; band: min-max)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    _save(fig, path)


def plot_length_buckets(buckets: pd.DataFrame, variants: list[str], path: Path) -> None:
    import matplotlib.pyplot as plt

    colors = _colors(variants)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    labels = list(buckets["bucket"].cat.categories) if hasattr(buckets["bucket"], "cat") else \
        list(dict.fromkeys(buckets["bucket"]))
    for variant in variants:
        group = buckets[buckets["variant"] == variant].set_index("bucket").reindex(labels)
        ax.plot(range(len(labels)), group["accuracy"] * 100, marker="o", color=colors[variant], label=variant)
    counts = buckets.groupby("bucket", observed=True)["examples"].max().reindex(labels)
    ax.set_xticks(range(len(labels)), [f"{b}\n(n={int(c)})" for b, c in zip(labels, counts)])
    ax.set_xlabel("input length (tokens; n = test examples per summarizer, all seeds)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Test accuracy by input length")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    _save(fig, path)


def plot_efficiency(summary: pd.DataFrame, path: Path) -> None:
    """Accuracy against trainable parameters and against training throughput (log x when the
    values span more than a factor of 10)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    colors = _colors(summary["variant"].tolist())
    markers = "osD^vP*X<>"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, column, label in [(axes[0], "params", "trainable parameters"),
                              (axes[1], "tokens_per_second", "training throughput (real tokens / s)")]:
        values = []
        for i, row in enumerate(summary.itertuples()):
            value = getattr(row, column, math.nan)
            if value is None or pd.isna(value) or value <= 0:
                continue
            values.append(value)
            ci = 0 if pd.isna(row.test_acc_ci) else row.test_acc_ci * 100
            ax.errorbar(value, row.test_acc * 100, yerr=ci, fmt=markers[i % len(markers)], capsize=3, markersize=7,
                        color=colors[row.variant], label=row.variant)
        if values and max(values) / min(values) > 10:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
            label += " (log scale)"
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%, mean and 95% CI)")
    axes[0].set_title("Accuracy vs size")
    axes[1].set_title("Accuracy vs speed")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.86, 0.5), fontsize=9, frameon=False)
    _save(fig, path, rect=(0, 0, 0.86, 1))


# ---------------------------------------------------------------------------------------- markdown
def _pct(value: Any, ci: Any = math.nan, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    text = f"{100 * value:.{digits}f}"
    return f"{text} ± {100 * ci:.{digits}f}" if ci is not None and not pd.isna(ci) else text


def _num(value: Any, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def summary_table(summary: pd.DataFrame) -> str:
    subsets = [c for c in summary.columns if c.startswith("acc_") and not c.endswith("_ci") and c != "acc_shuffled"]
    header = ["summarizer", "seeds", "test acc % (95% CI)", *[c[4:] + " %" for c in subsets], "macro-F1 %",
              "params", "train s", "tokens/s", "order sensitivity (pp)", "Δ vs best (pp), p"]
    rows = []
    for r in summary.to_dict("records"):
        if r.get("best"):
            comparison = "best"
        elif pd.isna(r.get("p_vs_best", math.nan)):
            comparison = "–"
        else:
            star = " **\\***" if r["p_vs_best"] < ALPHA else ""
            diff = 100 * r["diff_vs_best"]
            comparison = f"{diff:+.{1 if abs(diff) >= 0.1 or diff == 0 else 2}f}, p={r['p_vs_best']:.3g}{star}"
        rows.append([f"**{r['variant']}**" if r.get("best") else r["variant"], str(r["seeds"]),
                     _pct(r["test_acc"], r["test_acc_ci"]),
                     *[_pct(r.get(c), r.get(f"{c}_ci")) for c in subsets],
                     _pct(r.get("macro_f1")), _num(r.get("params")), _num(r.get("train_seconds"), 1),
                     _num(r.get("tokens_per_second")), _pct(r.get("order_sensitivity"), r.get("order_sensitivity_ci")),
                     comparison])
    return _table(header, rows)


def jobs_table(jobs: pd.DataFrame) -> str:
    ok = jobs[jobs["status"] == "ok"]
    subsets = subset_metrics(ok)
    header = ["job", "summarizer", "seed", "test acc %", *[s[9:] + " %" for s in subsets], "shuffled %",
              "macro-F1 %", "best val acc %", "epochs", "train s", "tokens/s"]
    rows = [[j["job"], j["variant"], _num(j.get("seed")), _pct(j.get("test/acc")),
             *[_pct(j.get(s)) for s in subsets], _pct(j.get(SHUFFLED)), _pct(j.get("test/f1")),
             _pct(j.get("val/acc_best")), _num(j.get("epochs")), _num(j.get("train_seconds"), 1),
             _num(j.get("tokens_per_second"))] for j in ok.to_dict("records")]
    return _table(header, rows)


def buckets_table(buckets: pd.DataFrame, variants: list[str]) -> str:
    labels = list(dict.fromkeys(buckets["bucket"].astype(str)))
    wide = buckets.assign(bucket=buckets["bucket"].astype(str)).pivot(index="variant", columns="bucket",
                                                                       values="accuracy")
    counts = buckets.assign(bucket=buckets["bucket"].astype(str)).groupby("bucket")["examples"].max()
    rows = [[v, *[_pct(wide.loc[v].get(b)) if v in wide.index else "–" for b in labels]] for v in variants]
    return _table(["summarizer", *[f"{b} tokens (n={int(counts[b])})" for b in labels]], rows)


# ---------------------------------------------------------------------------------------- report
def write_report(sweep_dir: str | Path, plots: bool = True) -> str:
    """Writes report.md, results.csv, summary.csv and the PNGs into ``sweep_dir``; returns report.md."""
    sweep_dir = Path(sweep_dir)
    jobs = load_jobs(sweep_dir)
    lines = [f"# Sweep `{sweep_dir.name}`", ""]
    if jobs.empty:
        text = "\n".join(lines + ["No jobs found (no subdir with results.json or .hydra/).", ""])
        (sweep_dir / "report.md").write_text(text)
        return text
    for column in ("status", "error", "seed"):
        if column not in jobs:
            jobs[column] = None
    jobs.to_csv(sweep_dir / "results.csv", index=False)
    predictions = load_predictions(sweep_dir, jobs)
    summary = summarize(jobs, predictions)
    failed = jobs[jobs["status"] != "ok"]
    ok = jobs[jobs["status"] == "ok"]
    data = ", ".join(sorted(set(map(str, ok.get("data", pd.Series(dtype=str)).dropna())))) or "–"
    lines += [f"Data: **{data}**. Jobs: {len(jobs)} ({len(ok)} ok, {len(failed)} failed). "
              f"Seeds: {', '.join(map(str, sorted(set(ok['seed'].dropna().astype(int))))) or '–'}.", ""]

    if not summary.empty:
        summary.to_csv(sweep_dir / "summary.csv", index=False)
        variants = summary["variant"].tolist()
        buckets = length_buckets(predictions)
        lines += ["## Test accuracy", "", summary_table(summary),
                  f"Mean over seeds ± half-width of the {CONFIDENCE:.0%} t-interval (none with one seed). "
                  "*Order sensitivity*: test accuracy minus accuracy on the same test set with each "
                  "sentence's words shuffled (fixed seed), in percentage points. *Δ vs best*: accuracy "
                  "difference to the best summarizer (bold), paired over seeds (paired t-test) when both "
                  "have ≥ 2 common seeds, else over test examples (paired bootstrap, "
                  f"{BOOTSTRAP_RESAMPLES:,} resamples); **\\*** marks p < {ALPHA} (no correction for "
                  "multiple comparisons). train s and tokens/s are per job, averaged over seeds.", ""]
        if plots:
            plot_accuracy(summary, jobs, predictions, sweep_dir / "accuracy.png")
            lines += ["![test accuracy](accuracy.png)", ""]
        if not buckets.empty:
            lines += ["## Accuracy by input length", "", buckets_table(buckets, variants),
                      "Test examples of all seeds pooled; buckets are length quantiles.", ""]
            if plots:
                plot_length_buckets(buckets, variants, sweep_dir / "length_buckets.png")
                lines += ["![accuracy by length](length_buckets.png)", ""]
        curves = load_val_curves(sweep_dir, jobs)
        if plots and not curves.empty:
            plot_val_curves(curves, variants, sweep_dir / "val_curves.png")
            lines += ["## Validation curves", "", "![validation accuracy](val_curves.png)", ""]
        if plots:
            plot_efficiency(summary, sweep_dir / "efficiency.png")
            lines += ["## Accuracy against size and speed", "", "![efficiency](efficiency.png)", ""]
        lines += ["## Jobs", "", jobs_table(jobs)]
    optuna = sweep_dir / "optimization_results.yaml"
    if optuna.is_file():
        lines += ["## Optuna", "", "```yaml", optuna.read_text().strip(), "```", ""]
    if not failed.empty:
        lines += ["## Failed jobs", ""] + [f"- `{j['job']}` ({j.get('summarizer')}, seed {_num(j.get('seed'))}): "
                                           f"{j.get('error') or 'unknown error'}" for j in failed.to_dict("records")]
        lines.append("")
    text = "\n".join(lines)
    (sweep_dir / "report.md").write_text(text)
    return text


def log_report_to_wandb(sweep_dir: Path, project: str, group: str, tags: list[str] | None = None,
                        entity: str | None = None) -> str | None:
    """One extra W&B run (job_type=report) in the sweep's group: the summary as a table, the plots as
    images. Offline unless WANDB_MODE says otherwise; returns the run's local dir."""
    import wandb

    from src.utils.wandb_setup import configure_wandb_env

    configure_wandb_env()
    summary_path = sweep_dir / "summary.csv"
    run = wandb.init(project=project, entity=entity, group=group, job_type="report", name=f"report-{group}",
                     tags=["report", *(tags or [])], dir=str(sweep_dir), reinit="finish_previous",
                     config={"sweep_dir": str(sweep_dir)})
    try:
        payload: dict[str, Any] = {}
        if summary_path.is_file():
            payload["summary"] = wandb.Table(dataframe=pd.read_csv(summary_path))
        if (sweep_dir / "results.csv").is_file():
            payload["jobs"] = wandb.Table(dataframe=pd.read_csv(sweep_dir / "results.csv").astype(str))
        payload.update({f"plots/{name[:-4]}": wandb.Image(str(sweep_dir / name)) for name in PLOTS
                        if (sweep_dir / name).is_file()})
        run.log(payload)
        return run.dir
    finally:
        run.finish()


class SweepReportCallback(Callback):
    """Writes (and prints) the report when a multirun ends, and logs it to W&B when jobs used W&B."""

    def on_multirun_end(self, config, **kwargs) -> None:
        from omegaconf import OmegaConf

        import matplotlib

        matplotlib.use("Agg")  # no display needed, also on a cluster node
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            text = write_report(sweep_dir)
        except Exception:  # noqa: BLE001  (the jobs' results are safe; say how to retry)
            log.exception("sweep report failed; rerun it with: python -m src.report %s", sweep_dir)
            return
        print(f"\nSweep report: {sweep_dir / 'report.md'}\n\n{text}", flush=True)
        wandb_cfg = OmegaConf.select(config, "logger.wandb", default=None)
        if wandb_cfg is not None:
            try:
                log_report_to_wandb(sweep_dir, project=wandb_cfg.get("project", "seq2vec"), group=sweep_dir.name,
                                    entity=wandb_cfg.get("entity"), tags=[str(OmegaConf.select(config, "data.name",
                                                                                               default="data"))])
            except Exception:  # noqa: BLE001
                log.exception("logging the sweep report to W&B failed")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(f"usage: python -m src.report SWEEP_DIR (not a directory: {argv[0] if argv else '(none)'})",
              file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    print(write_report(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
