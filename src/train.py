"""Train, validate and test one model: ``python -m src.train summarizer=bilstm``.

Only composition lives here: data -> model -> callbacks -> loggers -> trainer, fit, test on the
best checkpoint, write ``results.json``. With ``-m`` Hydra sweeps, e.g. over every summarizer.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from src.utils import resolvers  # noqa: F401  (registers ${unique_id:} etc. before Hydra composes)
from src.utils.launcher import threads_per_job
from src.utils.wandb_setup import configure_wandb_env, finish_wandb_run

log = logging.getLogger("src.train")
USER_ERRORS = ("ConfigError", "DataError", "CheckpointError", "FloatingPointError")  # one-line errors


def check_summarizer(cfg: DictConfig) -> None:
    """Build the summarizer once and throw it away, so that its settings are checked first.

    Building it draws random numbers (its initial weights): under a forked torch generator, so the
    model built afterwards gets the same initial weights as if this check did not exist.
    """
    import torch

    with torch.random.fork_rng(devices=[]):  # the CPU generator: modules are built on the CPU
        hydra.utils.instantiate(cfg.summarizer, input_dim=cfg.model.embedding.dim)


def train(cfg: DictConfig) -> dict:
    import lightning as L
    import torch

    from src.callbacks import TrainThroughput
    from src.checkpointing import prepare_resume
    from src.model.module import build_model
    from src.utils.instantiate import instantiate_each
    from src.utils.io import write_json_atomic

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    output_dir = Path(cfg.paths.output_dir)
    threads = threads_per_job(cfg)
    if threads:
        torch.set_num_threads(threads)

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
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
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
        **{k: v for k, v in sorted(metrics.items()) if k.startswith("test/acc_")},
        "test/order_drop": metrics["test/acc"] - metrics["test/acc_shuffled"]  # order probe
        if {"test/acc", "test/acc_shuffled"} <= metrics.keys()
        else None,
        "threads": torch.get_num_threads(),
        "params": model.num_parameters,
        "train_seconds": round(train_seconds, 2),
        "tokens_per_second": round(throughput.tokens_per_second, 1) if throughput else None,
        "epochs": trainer.current_epoch,
        "best_checkpoint": trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else None,
        "status": "ok",
    }
    if trainer.is_global_zero:
        write_json_atomic(output_dir / "results.json", results)
        if getattr(model, "test_predictions", None):  # per test example, for the sweep report's statistics
            import pandas as pd

            pd.DataFrame(model.test_predictions).sort_values("index").to_csv(
                output_dir / "predictions.csv", index=False
            )
        for logger in loggers:
            if type(logger).__name__ == "WandbLogger":
                logger.experiment.summary.update({k: v for k, v in results.items() if v is not None})
    log.info("results: %s", {k: results[k] for k in ("test/acc", "test/f1", "val/acc_best")})
    if trainer.world_size > 1:  # every rank logs the same values when metrics are synced
        log.info("rank %d of %d, synced metrics: %s", trainer.global_rank, trainer.world_size, metrics)
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Returns val/acc_best, the objective of hyperparameter sweeps."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from src.utils.instantiate import root_cause
    from src.utils.io import write_json_atomic

    configure_wandb_env()
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        return train(cfg)["val/acc_best"]
    except Exception as exc:
        cause = root_cause(exc)
        user_error = type(cause).__name__ in USER_ERRORS
        message = f"{type(cause).__name__}: {cause}" if not user_error else str(cause)
        if multirun:  # one failed job must not end the sweep: record it for the report
            log.exception("job failed: %s", message)
            write_json_atomic(
                Path(cfg.paths.output_dir) / "results.json",
                {
                    "summarizer": cfg.get("summarizer_name"),
                    "seed": cfg.get("seed"),
                    "data": OmegaConf.select(cfg, "data.name"),
                    "fold": OmegaConf.select(cfg, "data.fold"),
                    "status": "failed",
                    "error": message,
                },
            )
            return None
        if user_error:
            print(f"error: {message}", file=sys.stderr)
            sys.exit(2)
        raise
    finally:
        finish_wandb_run()
        distributed = sys.modules.get("src.distributed")  # imported when trainer=ddp built its strategy
        if distributed is not None:  # a sweep's next job must not reuse this job's DDP process group
            distributed.end_distributed_job()


if __name__ == "__main__":
    main()
