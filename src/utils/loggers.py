"""What each logger gets once a run has its results, beyond the metrics Lightning logs as it goes."""

from __future__ import annotations

RESULT_KEYS = ("val/acc_best", "test/acc", "test/f1")


def log_results(loggers: list, hparams: dict, results: dict, step: int) -> None:
    """W&B: every result in the run's summary. TensorBoard: the hyperparameters again, now with the
    results as the HParams tab's columns (``hp/<key>``; TensorBoard shows hyperparameters only beside
    metrics), then the event file is closed again (Lightning closed it after testing)."""
    for logger in loggers:
        kind = type(logger).__name__
        if kind == "WandbLogger":
            logger.experiment.summary.update({k: v for k, v in results.items() if v is not None})
        elif kind == "TensorBoardLogger":
            metrics = {f"hp/{k}": results[k] for k in RESULT_KEYS if results.get(k) is not None}
            if metrics:
                logger.log_hyperparams(hparams, metrics=metrics, step=step)
                logger.finalize("success")
