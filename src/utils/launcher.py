"""What a job needs to know about the launcher running it."""

from __future__ import annotations

from collections.abc import Mapping

from omegaconf import DictConfig


def threads_per_job(cfg: DictConfig | Mapping) -> int | None:
    """``cfg.threads`` if set; else, when a launcher runs jobs side by side, the cores each job may
    use (joblib: cores / n_jobs; submitit: cpus_per_task), so parallel jobs don't oversubscribe."""
    import os

    from hydra.core.hydra_config import HydraConfig

    if cfg.get("threads"):
        return int(cfg.get("threads"))
    if not HydraConfig.initialized():
        return None
    launcher = HydraConfig.get().get("launcher") or {}
    target = str(launcher.get("_target_", ""))
    if "submitit" in target and launcher.get("cpus_per_task"):
        return int(launcher.cpus_per_task)
    if "joblib" in target:
        cores, n_jobs = os.cpu_count() or 1, int(launcher.get("n_jobs") or -1)
        n_jobs = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib: -1 = one per core
        return max(1, cores // n_jobs)
    return None
