"""Wall time of a whole sweep: ``python -m src.bench.sweep [--out sweep_time.json] -- OVERRIDES``.

Runs ``python -m src.train -m OVERRIDES`` as a user would (its own process, the configured launcher),
times it from start to exit, then reads every job's ``results.json`` to say where the time went:
the seconds each job spent (``job_seconds``: data, model, fit, test) summed per data set and per
summarizer, and how busy the launcher kept the cores (``core_utilisation``: summed job seconds over
wall time x parallel jobs). The README's benchmark wall time is made with:

    python -m src.bench.sweep -- experiment=benchmark benchmark.data_root=../shared/data \\
        "hydra.sweeper.params.summarizer='\\${summarizers:course}'" logger=none
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from src.summarizers.base import ConfigError
from src.utils.cli import user_errors

REPO = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m src.bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="sweep_time.json", help="where to write the timing (JSON)")
    parser.add_argument("--log", default=None, help="the sweep's output (default: <sweep dir>/sweep.log)")
    parser.add_argument("overrides", nargs="+", help="overrides for python -m src.train -m")
    args = parser.parse_args(argv)
    if any(o.startswith("hydra.sweep.dir=") for o in args.overrides):
        args.sweep_dir = Path(next(o for o in args.overrides if o.startswith("hydra.sweep.dir=")).split("=", 1)[1])
    else:
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        args.sweep_dir = REPO / "outputs" / "bench" / f"sweep_{stamp}"
        args.overrides.append(f"hydra.sweep.dir={args.sweep_dir}")
    if args.sweep_dir.exists() and any(args.sweep_dir.iterdir()):
        raise ConfigError(f"hydra.sweep.dir={args.sweep_dir} is not empty: a timing needs a fresh sweep")
    return args


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def parallel_jobs(sweep_dir: Path) -> int:
    """Jobs the launcher ran side by side (the multirun's saved Hydra config)."""
    from omegaconf import OmegaConf

    config = sweep_dir / "multirun.yaml"
    if not config.is_file():
        return 1
    launcher = OmegaConf.load(config).hydra.get("launcher") or {}
    target = str(launcher.get("_target_", ""))
    if "joblib" in target:
        n_jobs = int(launcher.get("n_jobs") or -1)
        cores = os.cpu_count() or 1
        return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)
    return 1


def summarize(sweep_dir: Path, wall_s: float) -> dict:
    """Where the sweep's time went, from its jobs' ``results.json``."""
    from src.report.loading import load_jobs

    jobs = load_jobs(sweep_dir)
    if jobs.empty:
        raise ConfigError(f"{sweep_dir}: no job directories: the sweep did not start (its output: {sweep_dir}/sweep.log)")
    ok = jobs[jobs["status"] == "ok"] if "status" in jobs else jobs.iloc[0:0]
    seconds = ok["job_seconds"] if "job_seconds" in ok else ok["train_seconds"]
    n_parallel = parallel_jobs(sweep_dir)
    return {
        "jobs": len(jobs),
        "jobs_ok": len(ok),
        "jobs_failed": sorted(jobs.loc[jobs["status"] != "ok", "job"]) if "status" in jobs else [],
        "parallel_jobs": n_parallel,
        "threads_per_job": sorted({int(t) for t in ok["threads"].dropna()}) if "threads" in ok else [],
        "job_seconds_sum": round(float(seconds.sum()), 1),
        "core_utilisation": round(float(seconds.sum()) / (wall_s * n_parallel), 3),
        "job_seconds_by_data": {k: round(float(v), 1) for k, v in seconds.groupby(ok["data"]).sum().items()},
        "job_seconds_by_summarizer": {
            k: round(float(v), 1) for k, v in seconds.groupby(ok["summarizer"], sort=False).sum().items()
        },
        "longest_job": {"job": ok.loc[seconds.idxmax(), "job"], "seconds": float(seconds.max())} if len(ok) else None,
    }


def run(args: argparse.Namespace) -> dict:
    from src.utils.io import write_json_atomic

    args.sweep_dir.mkdir(parents=True, exist_ok=True)
    log_path = Path(args.log) if args.log else args.sweep_dir / "sweep.log"
    command = [sys.executable, "-m", "src.train", "-m", *args.overrides]
    print(f"[sweep] {' '.join(command)}\n[sweep] output: {log_path}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    with open(log_path, "w") as log:
        status = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode
    wall_s = time.perf_counter() - start
    results = {
        "command": "python -m src.train -m " + " ".join(args.overrides),
        "exit_status": status,
        "wall_s": round(wall_s, 1),
        "wall_min": round(wall_s / 60, 2),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "commit": git_commit(),
        "date": datetime.now().isoformat(timespec="seconds"),
        "sweep_dir": str(args.sweep_dir),
        **summarize(args.sweep_dir, wall_s),
    }
    write_json_atomic(args.out, results)
    return results


@user_errors
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = run(args)
    print(
        f"{results['jobs_ok']} of {results['jobs']} jobs in {results['wall_min']:.1f} min wall "
        f"({results['parallel_jobs']} side by side, cores {100 * results['core_utilisation']:.0f}% busy); "
        f"job seconds by data set: {results['job_seconds_by_data']}; wrote {args.out}"
    )
    if results["exit_status"]:
        sys.exit(results["exit_status"])


if __name__ == "__main__":
    main()
