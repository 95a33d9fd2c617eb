"""Lightning DDP launched under Hydra, for single runs and sweeps alike (``trainer=ddp``).

On one machine Lightning's DDP starts ranks 1..N-1 by re-running the command line. Under Hydra it
re-runs ``sys.argv`` plus ``hydra.run.dir=<run dir>``, which breaks a sweep: the children get
``-m`` and the whole sweep list (each child would start the sweep again) and the run dir instead
of the job's dir. :class:`HydraDDPStrategy` starts each child as a single run of *this job*: the
job's own overrides (which include the values a sweeper chose) and its output dir.

After a job, :func:`end_distributed_job` waits for the children, closes the process group and
clears the rendezvous environment variables, so the next job of a sweep in the same process
starts its own group (Lightning would otherwise reuse the finished group and wait forever).

Where a cluster starts the processes itself (SLURM ``srun``, ``torchrun``), Lightning detects it
and nothing is launched here; see docs/reproducibility.md.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers import subprocess_script
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

log = logging.getLogger(__name__)

_RENDEZVOUS_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
_launched: list[subprocess.Popen] = []


def hydra_job_command(local_rank: int) -> tuple[list[str], str]:
    """The command (and cwd) that re-runs the current Hydra job, alone, as rank ``local_rank``."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd, to_absolute_path

    import __main__

    hydra_cfg = HydraConfig.get()
    if __main__.__spec__ is None:
        command = [sys.executable, to_absolute_path(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    for source in hydra_cfg.runtime.config_sources:
        if source.provider == "command-line":  # --config-dir given by the user
            command.append(f"--config-dir={source.path.removeprefix('file://')}")
    command.append(f"--config-name={hydra_cfg.job.config_name}")
    command += list(hydra_cfg.overrides.task)
    command += [
        f'hydra.run.dir="{hydra_cfg.runtime.output_dir}"',
        f"hydra.job.name={hydra_cfg.job.name}_rank{local_rank}",
        "hydra.output_subdir=null",
    ]
    return command, get_original_cwd()


class _HydraJobLauncher(_SubprocessScriptLauncher):
    def _call_children_scripts(self) -> None:
        original = subprocess_script._hydra_subprocess_cmd
        subprocess_script._hydra_subprocess_cmd = hydra_job_command
        try:
            super()._call_children_scripts()
        finally:
            subprocess_script._hydra_subprocess_cmd = original
        _launched.extend(self.procs)


class HydraDDPStrategy(DDPStrategy):
    """``DDPStrategy`` whose locally launched ranks re-run the current Hydra job (see module doc)."""

    def _configure_launcher(self) -> None:
        super()._configure_launcher()
        if type(self._launcher) is _SubprocessScriptLauncher:
            self._launcher = _HydraJobLauncher(self.cluster_environment, self.num_processes, self.num_nodes)


def end_distributed_job(timeout_s: float = 120.0) -> None:
    """Wait for the ranks this process launched, then forget the process group and its variables."""
    if not _launched:
        return
    import torch.distributed as dist

    for proc in _launched:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("DDP rank process %d still running after %.0f s; killing it", proc.pid, timeout_s)
            proc.kill()
            proc.wait()
    _launched.clear()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    for name in _RENDEZVOUS_VARIABLES:
        os.environ.pop(name, None)
