"""Train, validate and test one model: ``python -m src.train summarizer=bilstm``.

Only composition lives here: data -> model -> callbacks -> loggers -> trainer, fit, test on the
best checkpoint, write ``results.json``. With ``-m`` Hydra sweeps, e.g. over every summarizer.

Bad input stops with ``error: <one line>`` and exit status 2 (``src.utils.cli.user_errors``); the
settings that reach library code are checked first (``src.utils.cli.check_settings``). Ctrl-C and
SIGTERM stop the run at the next batch boundary: ``results.json`` says ``status: interrupted``
(never a result), the W&B run is finished, ``checkpoints/last.ckpt`` is the state to resume from
(the end of the last complete epoch, or the start), and the last line says how to resume; exit
status 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from src.utils import resolvers  # noqa: F401  (registers ${unique_id:} etc. before Hydra composes)
from src.utils.cli import check_settings, hydra_entry, log_lightning_through_root, user_errors
from src.utils.cpu import configure_cpu
from src.utils.errors import RunInterrupted
from src.utils.wandb_setup import configure_wandb_env, finish_wandb_run

log = logging.getLogger("src.train")
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal, as a shell reports a kill


def check_summarizer(cfg: DictConfig) -> None:
    """Build the summarizer once and throw it away, so that its settings are checked first.

    Building it draws random numbers (its initial weights): under a forked torch generator, so the
    model built afterwards gets the same initial weights as if this check did not exist.
    """
    import torch

    with torch.random.fork_rng(devices=[]):  # the CPU generator: modules are built on the CPU
        hydra.utils.instantiate(cfg.summarizer, input_dim=cfg.model.embedding.dim)


def train(cfg: DictConfig) -> dict:
    """Fit, test and write ``results.json``; a signal ends it with :class:`RunInterrupted`."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from src.checkpointing import GracefulStop

    log_lightning_through_root()
    check_settings(cfg)  # settings that reach library code, in one line each, before anything slow
    stop = GracefulStop().install()
    state: dict = {}
    try:
        return _train(cfg, stop, state)
    except BaseException as exc:
        if stop.received is None and not isinstance(exc, SIGTERMException):
            raise
        raise interrupted(cfg, stop.received or signal.SIGTERM, state.get("trainer")) from None
    finally:
        stop.restore()


def _train(cfg: DictConfig, stop, state: dict) -> dict:
    import lightning as L
    import torch

    from src.callbacks import TrainThroughput
    from src.checkpointing import own_last_checkpoint, prepare_resume
    from src.model.module import build_model
    from src.utils.instantiate import instantiate_each, instantiate_trainer
    from src.utils.io import atomic_write, remove_leftover_temp_files, write_json_atomic
    from src.utils.loggers import log_results

    job_start = time.perf_counter()
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    output_dir = Path(cfg.paths.output_dir)
    for folder in (output_dir, own_last_checkpoint(cfg).parent):  # a rerun job: what its killed attempt left
        for path in remove_leftover_temp_files(folder):
            log.info("removed %s, left by a killed earlier attempt of this job", path)
    configure_cpu(cfg)

    check_summarizer(cfg)  # bad settings fail before any data is touched

    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    with open_dict(cfg):  # the set's name (a folder's, for data=files) for W&B tags and the report
        cfg.data.name = datamodule.name
    model = build_model(cfg, datamodule)
    model.load_pretrained_embeddings(datamodule.tokenizer)  # no-op unless model.embedding.pretrained_path
    prepare_resume(cfg, model)  # ckpt_path: fails in one line if it does not fit; W&B continues its run

    callbacks = instantiate_each(cfg.get("callbacks"))
    loggers = instantiate_each(cfg.get("logger"))
    trainer = state["trainer"] = instantiate_trainer(cfg.trainer, callbacks=[*callbacks, stop], logger=loggers)
    hparams = OmegaConf.to_container(cfg, resolve=True)
    hparams["params"] = model.num_parameters
    for logger in loggers:
        logger.log_hyperparams(hparams)

    log.info("%s on %s: %s trainable parameters", cfg.summarizer_name, datamodule.name, f"{model.num_parameters:,}")
    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    train_seconds = time.perf_counter() - start
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("val/", "train/"))}
    if "val/acc_best" not in metrics and getattr(model, "resumed_val_acc_best", None) is not None:
        metrics["val/acc_best"] = model.resumed_val_acc_best  # resumed a finished run: no epoch ran

    if cfg.get("test", True):
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        log.info("testing checkpoint %s", best or "(current weights)")
        tested = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
        metrics.update({k: float(v) for k, v in (tested[0] if tested else {}).items()})

    throughput = next((c for c in callbacks if isinstance(c, TrainThroughput)), None)
    results = {
        "summarizer": cfg.summarizer_name,
        "seed": int(cfg.seed),
        "data": datamodule.name,
        "fold": cfg.data.get("fold"),
        "folds": cfg.data.get("folds"),
        **{k: metrics.get(k) for k in ("test/acc", "test/f1", "val/acc_best")},
        "metric": datamodule.metric,  # the set's own metric (data.metric), what the report ranks by
        f"test/{datamodule.metric}": metrics.get(f"test/{datamodule.metric}"),
        **{k: v for k, v in sorted(metrics.items()) if k.startswith("test/acc_")},
        **test_majority(datamodule),  # the no-model score beneath the set's column in the report
        "test/order_drop": metrics["test/acc"] - metrics["test/acc_shuffled"]  # order probe
        if {"test/acc", "test/acc_shuffled"} <= metrics.keys()
        else None,
        "threads": torch.get_num_threads(),
        "precision": str(trainer.precision),
        "params": model.num_parameters,
        "train_seconds": round(train_seconds, 2),
        "tokens_per_second": round(throughput.tokens_per_second, 1) if throughput else None,
        "epochs": trainer.current_epoch,
        "best_checkpoint": trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else None,
        "status": "ok",
    }
    results["job_seconds"] = round(time.perf_counter() - job_start, 2)  # data, model, fit, test: all but imports
    if trainer.is_global_zero:
        if getattr(model, "test_predictions", None):  # per test example, for the sweep report's statistics
            import pandas as pd

            frame = pd.DataFrame(model.test_predictions).sort_values("index")
            with atomic_write(output_dir / "predictions.csv", "w") as f:
                frame.to_csv(f, index=False)
        write_json_atomic(output_dir / "results.json", results)  # last: its presence means a finished run
    stop.finished = True  # from here a signal no longer undoes the run: it has its results
    if trainer.is_global_zero:
        log_results(loggers, hparams, results, trainer.global_step)
    log.info("results: %s", {k: results[k] for k in ("test/acc", "test/f1", "val/acc_best")})
    if trainer.world_size > 1:  # every rank logs the same values when metrics are synced
        log.info("rank %d of %d, synced metrics: %s", trainer.global_rank, trainer.world_size, metrics)
    return results


def test_majority(datamodule) -> dict[str, float]:
    """The train majority class's test scores (``src.model.majority``); {} without both splits."""
    from src.model.majority import majority_scores

    splits = datamodule.splits
    if "train" not in splits or "test" not in splits:
        return {}
    return majority_scores(splits["train"].labels, splits["test"].labels, datamodule.metric)


def interrupted(cfg: DictConfig, signum: int, trainer=None) -> RunInterrupted:
    """Record a run stopped by ``signum`` (``results.json``: ``status: interrupted``; the W&B run
    finished with the exit status) and say how to resume it."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from src.checkpointing import own_last_checkpoint
    from src.utils.io import write_json_atomic

    name = signal.Signals(signum).name
    exit_status = EXIT_STATUS.get(signum, 128 + int(signum))
    fitting = trainer is not None and trainer.state.fn is not None
    where = f"at epoch {trainer.current_epoch}, step {trainer.global_step}" if fitting else "before training"
    where += f" (SLURM job {os.environ['SLURM_JOB_ID']})" if os.environ.get("SLURM_JOB_ID") else ""
    last = own_last_checkpoint(cfg)
    resume = last if last.is_file() else (Path(str(cfg.ckpt_path)) if cfg.get("ckpt_path") else None)
    saved_step = _saved_step(resume)
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        how = (
            f"rerun the sweep's command with hydra.sweep.dir={HydraConfig.get().sweep.dir} ckpt_path=last "
            "(each job resumes from its last.ckpt; finished jobs are only tested again)"
        )
    else:
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
        kept = [o for o in overrides if not o.lstrip("+~").startswith("ckpt_path=")]
        if resume is not None:
            kept.append(f"ckpt_path={resume.resolve()}")
        how = " ".join(["python -m src.train", *map(shlex.quote, kept)])
    said = "Ctrl-C (SIGINT)" if signum == signal.SIGINT else name
    if resume is None:
        message = f"{said} {where}; nothing saved yet to resume from; start again with: {how}"
    else:
        message = f"{said} {where}; {resume} holds step {saved_step}; resume with: {how}"
    if trainer is None or trainer.is_global_zero:
        record = {
            **job_record(cfg),
            "status": "interrupted",
            "signal": name,
            "epoch": trainer.current_epoch if fitting else None,
            "global_step": trainer.global_step if fitting else None,
            "resume_from": str(resume.resolve()) if resume is not None else None,
            "error": message,
        }
        try:
            write_json_atomic(Path(cfg.paths.output_dir) / "results.json", record)
        except OSError as exc:
            log.error("could not record the interruption: %s", exc)
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.run.summary.update({"status": "interrupted", "signal": name})
        wandb.finish(exit_code=exit_status)
    return RunInterrupted(message, exit_status)


def _saved_step(path: Path | None) -> int | None:
    if path is None:
        return None
    import torch

    try:
        return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("global_step"))
    except Exception:  # noqa: BLE001  (only for the message)
        return None


def job_record(cfg: DictConfig) -> dict:
    """What a results.json says of a job that has no results (failed or interrupted)."""
    return {
        "summarizer": cfg.get("summarizer_name"),
        "seed": cfg.get("seed"),
        "data": OmegaConf.select(cfg, "data.name"),
        "fold": OmegaConf.select(cfg, "data.fold"),
    }


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
@user_errors(failure_record=job_record)
def main(cfg: DictConfig) -> float | None:
    """Returns val/acc_best, the objective of hyperparameter sweeps. A failed job of a sweep
    returns None and records its error in results.json (``user_errors``)."""
    configure_wandb_env()
    try:
        return train(cfg)["val/acc_best"]
    finally:
        finish_wandb_run()
        distributed = sys.modules.get("src.distributed")  # imported when trainer=ddp built its strategy
        if distributed is not None:  # a sweep's next job must not reuse this job's DDP process group
            distributed.end_distributed_job()


if __name__ == "__main__":
    hydra_entry(main)
