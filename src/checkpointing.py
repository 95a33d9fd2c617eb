"""Checkpoints a crash cannot corrupt, and runs that resume exactly.

What Lightning's own checkpoint already restores: weights, optimizer, LR scheduler, epoch and step,
and the callbacks' state (best score, early-stopping patience). What this module adds:

* :class:`AtomicCheckpointIO` writes each checkpoint to a temporary file *in the same folder*,
  fsyncs it and renames it over the target. A SIGKILL at any moment leaves either the previous
  complete ``last.ckpt`` or the new complete one (Lightning's default goes through a temp file in
  ``/tmp`` and ``shutil.move``, which is a non-atomic copy when /tmp and the run dir are different
  file systems, as on most clusters, and never fsyncs).
* :class:`ResumableTraining` (a callback) re-seeds the random generators at the start of every
  training epoch from (seed, epoch, rank), so dropout in a resumed epoch is the same as in an
  uninterrupted run (the data order already is: the bucket sampler shuffles by seed + epoch). It
  also stores the seed and the W&B run id in the checkpoint, so a resumed run logs to the same run.
* :class:`ResumableModelCheckpoint` keeps the best score and best file known before a crash when
  the resumed run writes into a new output dir (plain ``ModelCheckpoint`` forgets them then, and
  would test whichever epoch came next).
* :func:`prepare_resume`: for ``ckpt_path=...``, a checkpoint that is missing, unreadable or does
  not fit the model is a one-line :class:`~src.loading.CheckpointError` before training starts.
* :class:`GracefulStop` (a callback ``src.train`` always adds) turns SIGINT (Ctrl-C) and SIGTERM
  (preemption) into a stop at the next batch boundary, so that nothing is written half-way and
  the run is reported as interrupted, never as a result.
* Checkpoints are read with ``torch.load(weights_only=True)`` (also by Lightning, through
  :class:`AtomicCheckpointIO`): a file carrying pickled Python objects is refused, nothing in it runs.

Resume is exact at epoch boundaries, which is where checkpoints are written (``last.ckpt`` when a
fresh run starts training and after every validation): a run killed or interrupted in the middle
of epoch *e* restarts epoch *e* from its beginning.
Loading a trained model for inference lives in ``src.loading``.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import Callback
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from src.loading import RUN_KEY, CheckpointError, check_weights_fit, load_checkpoint, load_classifier
from src.utils.io import atomic_write

# RUN_KEY, CheckpointError, load_checkpoint and load_classifier live in src.loading; they are
# re-exported for the callers that still import them from here (tests/test_resume.py, tests/test_eval_predict.py).
__all__ = [
    "RUN_KEY",
    "AtomicCheckpointIO",
    "CheckpointError",
    "GracefulStop",
    "ResumableModelCheckpoint",
    "ResumableTraining",
    "load_checkpoint",
    "load_classifier",
    "own_last_checkpoint",
    "prepare_resume",
    "seed_epoch",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- writing
class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` through ``atomic_write``: a kill at any moment leaves a whole checkpoint.

    Remote paths (s3://, gs://) go through Lightning's default fsspec writer.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None or not _is_local_file_protocol(str(path)):
            return super().save_checkpoint(checkpoint, path, storage_options)
        with atomic_write(path, "wb") as f:
            torch.save(checkpoint, f)

    def load_checkpoint(self, path, map_location: Any | None = None, weights_only: bool | None = None) -> dict:
        """Tensors and plain data only, whatever Lightning or ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` ask:
        a checkpoint that pickles Python objects is refused before any of it runs."""
        if map_location is None:
            return super().load_checkpoint(path, weights_only=True)
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)


# --------------------------------------------------------------------------- resuming
def seed_epoch(seed: int, epoch: int, rank: int = 0) -> None:
    """Seed Python, NumPy and torch (all devices) from (seed, epoch, rank), without logging."""
    torch_seed, numpy_seed, python_seed = np.random.SeedSequence([int(seed), int(epoch), int(rank)]).generate_state(3)
    torch.manual_seed(int(torch_seed))
    np.random.seed(int(numpy_seed))
    random.seed(int(python_seed))


class ResumableTraining(Callback):
    """What a resumed run needs beyond Lightning's checkpoint to replay an uninterrupted run.

    The generators are re-seeded at the first training batch of every epoch, not at the epoch's
    start: a fresh epoch creates its data loader iterator (which draws from torch's generator)
    after ``on_train_epoch_start``, a resumed one before it, so only from the first batch on do the
    two runs draw the same numbers.
    """

    def __init__(self, seed: int = 0, summarizer_name: str | None = None):
        self.seed, self.summarizer_name = int(seed), summarizer_name

    def on_train_start(self, trainer, pl_module) -> None:
        # A run resumed after early stopping had fired (but before it was tested) must not train on.
        if any(cb.stopped_epoch > 0 or 0 < cb.patience <= cb.wait_count for cb in trainer.early_stopping_callbacks):
            log.info("early stopping had already stopped this run; going straight to testing")
            trainer.should_stop = True

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        # A fresh run saves its starting state as last.ckpt, so a run stopped in its first epoch
        # can also be resumed (exactly: that epoch is redone). Not here in on_train_start: the
        # model forgets the sanity check's validation score only in its own on_train_start.
        if trainer.current_epoch == 0 and trainer.global_step == 0 and not trainer.fast_dev_run:
            for callback in trainer.checkpoint_callbacks:
                if getattr(callback, "monitor", "?") is None and callback.dirpath:
                    path = Path(callback.format_checkpoint_name({}))
                    # every rank must take the same turn: saving waits for all of them (DDP)
                    if not trainer.strategy.broadcast(path.exists(), src=0):
                        # the whole state (optimizer, callbacks) to resume from, as ModelCheckpoint
                        # saves it; said, so that Lightning does not log that it chose False for us
                        trainer.save_checkpoint(path, weights_only=False)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if batch_idx == 0:
            seed_epoch(self.seed, trainer.current_epoch, trainer.global_rank)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[RUN_KEY] = {
            "seed": self.seed,
            "summarizer_name": self.summarizer_name,
            "wandb_id": _wandb_run_id(trainer),
        }


def _wandb_run_id(trainer) -> str | None:
    for logger in trainer.loggers:
        if type(logger).__name__ == "WandbLogger":
            version = logger.version  # the run id; does not start a run
            return str(version) if version else None
    return None


class ResumableModelCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that still knows the best score and file when resumed into a new dir.

    Files from before the crash stay where they are (Lightning never deletes checkpoints outside
    the current dir); new ones go to the new run's dir.
    """

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        previous_dir = state_dict.get("dirpath", self.dirpath)
        if previous_dir == self.dirpath:
            return super().load_state_dict(state_dict)
        self.best_model_score = state_dict["best_model_score"]
        self.best_model_path = state_dict["best_model_path"]
        self.best_k_models = {
            path: score for path, score in state_dict.get("best_k_models", {}).items() if Path(path).is_file()
        }
        self.kth_best_model_path = state_dict.get("kth_best_model_path", self.kth_best_model_path)
        self.kth_value = state_dict.get("kth_value", self.kth_value)
        if self.best_model_path:
            log.info(
                "resuming from %s: best so far %s (%s)",
                previous_dir,
                self.best_model_path,
                None if self.best_model_score is None else float(self.best_model_score),
            )


class StopRequested(BaseException):
    """Raised by :class:`GracefulStop` (a BaseException, so no ``except Exception`` on the way swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class GracefulStop(Callback):
    """SIGINT and SIGTERM stop the run at the next batch boundary instead of anywhere.

    While installed, the first signal is only recorded when a Lightning loop runs (the
    next training, validation or test batch end raises :class:`StopRequested`); outside one (data
    preparation, between fit and test) and for a second signal it raises at once. Checkpoints are
    written atomically either way, so the last complete one is what a resume starts from. Under
    SLURM Lightning's own handlers stay in place: SIGUSR1 (``#SBATCH --signal=SIGUSR1@90``) saves
    an ``hpc_ckpt_*.ckpt`` and requeues the job (``SLURMEnvironment(auto_requeue=True)``), and
    Lightning's SIGTERM handler calls this one too.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: int | None = None
        self.in_loop = False
        self.finished = False  # set once the run has its results: a first signal is then only logged
        self._previous: dict[int, Any] = {}

    def install(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.getsignal(signum)
                signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}

    def _handle(self, signum: int, frame) -> None:
        first = self.received is None
        if first:
            self.received = signum
        if first and (self.in_loop or self.finished):
            what = "the run has its results; finishing" if self.finished else "stopping after this batch"
            log.warning("%s received: %s (again to stop at once)", signal.Signals(signum).name, what)
            return
        raise StopRequested(self.received)

    def _check(self) -> None:
        if self.received is not None and not self.finished:
            raise StopRequested(self.received)

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.in_loop = True
        self._check()

    def teardown(self, trainer, pl_module, stage: str) -> None:
        self.in_loop = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._check()

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._check()

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._check()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._check()


def prepare_resume(cfg, model: torch.nn.Module) -> dict | None:
    """For ``ckpt_path=...``: check the checkpoint loads and fits ``model`` (one-line errors), and
    point the W&B logger at the run it continues (same id, ``resume="allow"``).

    ``ckpt_path=last`` means this run's own ``checkpoints/last.ckpt`` if it exists (a restarted
    job with a fixed output dir continues), else a fresh start; ``cfg.ckpt_path`` is set to the
    file found, or to null.
    """
    from omegaconf import open_dict

    path = cfg.get("ckpt_path")
    if path == "last":
        last = own_last_checkpoint(cfg)
        with open_dict(cfg):
            cfg.ckpt_path = str(last) if last.is_file() else None
        if not last.is_file():
            log.info("ckpt_path=last: no %s yet; starting fresh", last)
            return None
        path = cfg.ckpt_path
    if not path:
        return None
    checkpoint = load_checkpoint(path)
    check_weights_fit(model, checkpoint, path)
    wandb_id = (checkpoint.get(RUN_KEY) or {}).get("wandb_id")
    loggers = cfg.get("logger") or {}
    if wandb_id and "wandb" in loggers:
        with open_dict(cfg):
            cfg.logger.wandb.id = wandb_id
            cfg.logger.wandb.resume = "allow"
        log.info("resuming W&B run %s", wandb_id)
    log.info("resuming from %s (epoch %s, step %s)", path, checkpoint.get("epoch"), checkpoint.get("global_step"))
    return checkpoint


def own_last_checkpoint(cfg) -> Path:
    """This run's ``last.ckpt`` (``callbacks.last_checkpoint``'s file), existing or not."""
    callback = (cfg.get("callbacks") or {}).get("last_checkpoint") or {}
    folder = callback.get("dirpath") or Path(cfg.paths.output_dir) / "checkpoints"
    return Path(str(folder)) / f"{callback.get('filename') or 'last'}.ckpt"
