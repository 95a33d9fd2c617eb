"""Score a trained model on any data: ``python -m src.eval ckpt_path=PATH [data=...] [split=test]``.

The checkpoint brings the tokenizer and the label names, so the data is read exactly as in
training (the same words map to the same ids, label "positive" to the same class), and only the
split being scored has to exist. Writes ``results.json`` (test metrics, per-subset accuracy) in
the run dir; for the data a model was trained on it repeats the training run's test numbers.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, open_dict

from src.utils import resolvers  # noqa: F401  (registers ${unique_id:} etc. before Hydra composes)
from src.utils.cli import check_settings, hydra_entry, log_lightning_through_root, require_checkpoint, user_errors
from src.utils.cpu import configure_cpu
from src.utils.wandb_setup import configure_wandb_env, finish_wandb_run

log = logging.getLogger("src.eval")


def evaluate(cfg: DictConfig) -> dict:
    from omegaconf import OmegaConf

    from src.loading import RUN_KEY, classifier_from_checkpoint, load_checkpoint, tokenizer_from_checkpoint
    from src.utils.instantiate import instantiate_each, instantiate_trainer
    from src.utils.io import write_json_atomic

    log_lightning_through_root()
    check_settings(cfg)
    configure_cpu(cfg)
    checkpoint = load_checkpoint(cfg.ckpt_path)
    tokenizer = tokenizer_from_checkpoint(checkpoint, cfg.ckpt_path)
    run = checkpoint.get(RUN_KEY) or {}
    label_names = list((checkpoint.get("hyper_parameters") or {}).get("label_names") or [])
    with open_dict(cfg):
        if cfg.get("seed") is None:  # the seed the model was trained with; it also picks the built-in data
            cfg.seed = int(run.get("seed", 0))
        if cfg.get("summarizer_name") is None:  # names the logger's run, if a logger is chosen
            cfg.summarizer_name = run.get("summarizer_name")

    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("test", tokenizer=tokenizer, label_names=label_names or None)
    loader = datamodule.dataloader(cfg.split)  # raises a one-line DataError for a missing split
    model = classifier_from_checkpoint(checkpoint, cfg.ckpt_path, subset_names=datamodule.subset_names)

    loggers = instantiate_each(cfg.get("logger"))  # none unless logger=... is given
    trainer = instantiate_trainer(
        cfg.trainer, logger=loggers or False, callbacks=[], enable_checkpointing=False, enable_progress_bar=False
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    tested = trainer.test(model, dataloaders=loader, verbose=False)
    metrics = {k: float(v) for k, v in (tested[0] if tested else {}).items()}
    results = {
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "summarizer": run.get("summarizer_name"),
        "seed": int(cfg.seed),
        "data": datamodule.name,
        "split": cfg.split,
        "examples": len(datamodule.splits[cfg.split]),
        **{k: metrics.get(k) for k in ("test/acc", "test/f1", "test/loss")},
        **{k: v for k, v in sorted(metrics.items()) if k.startswith("test/acc_")},
        "label_names": label_names,
        "status": "ok",
    }
    if trainer.is_global_zero:
        write_json_atomic(Path(cfg.paths.output_dir) / "results.json", results)
    log.info(
        "%s on %s/%s: %s",
        Path(cfg.ckpt_path).name,
        datamodule.name,
        cfg.split,
        {k: results[k] for k in ("test/acc", "test/f1")},
    )
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
@user_errors(failure_record=lambda cfg: {"checkpoint": cfg.get("ckpt_path"), "split": cfg.get("split")})
def main(cfg: DictConfig) -> float | None:
    """Returns test/acc (so `-m` sweeps over data configs can be compared)."""
    require_checkpoint(
        cfg.get("ckpt_path"), "give the checkpoint to score: ckpt_path=outputs/runs/.../checkpoints/epoch_XXX.ckpt"
    )
    configure_wandb_env()
    try:
        return evaluate(cfg)["test/acc"]
    finally:
        finish_wandb_run()  # the next job of a `-m` sweep starts its own W&B run


if __name__ == "__main__":
    hydra_entry(main)
