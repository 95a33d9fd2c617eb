"""Small Lightning callbacks the training script composes."""
from __future__ import annotations

import time

from lightning import Callback


class TrainThroughput(Callback):
    """Real (non-padding) tokens per second of the training loop proper.

    Time runs from each training epoch's start to its last training batch, so validation,
    checkpointing and start-up are not counted. Logs ``train/tokens_per_s`` each epoch.
    """

    def __init__(self):
        self.tokens = 0
        self.seconds = 0.0
        self._epoch_start = None
        self._last_end = None

    def on_train_epoch_start(self, trainer, pl_module):
        self._epoch_start = self._last_end = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.tokens += int(batch["lengths"].sum())
        self._last_end = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        if self._epoch_start is not None:
            self.seconds += self._last_end - self._epoch_start
            self._epoch_start = None
        if self.seconds > 0:
            pl_module.log("train/tokens_per_s", self.tokens / self.seconds)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else float("nan")
