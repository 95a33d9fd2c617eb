"""Small Lightning callbacks the training script composes."""

from __future__ import annotations

import time

import torch
from lightning import Callback


class TrainThroughput(Callback):
    """Real (non-padding) tokens per second of the training loop proper.

    Time runs from each training epoch's start to its last training batch, so validation,
    checkpointing and start-up are not counted. Logs ``train/tokens_per_s`` each epoch. Under DDP
    it is the whole job's rate, the same on every rank: the tokens of all ranks over the slowest
    rank's time (each rank alone would report only its share).
    """

    def __init__(self):
        self.tokens = 0  # this rank's, as of the last epoch end
        self._epoch_tokens = None  # this epoch's so far, on the batches' device: summed without a host sync
        self.seconds = 0.0
        self.all_tokens = 0.0  # every rank's, as of the last epoch end
        self.all_seconds = 0.0
        self._epoch_start = None
        self._last_end = None

    def on_train_epoch_start(self, trainer, pl_module):
        self._epoch_start = self._last_end = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        tokens = batch["lengths"].sum()
        self._epoch_tokens = tokens if self._epoch_tokens is None else self._epoch_tokens + tokens
        self._last_end = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        if self._epoch_tokens is not None:
            self.tokens += int(self._epoch_tokens)
            self._epoch_tokens = None
        if self._epoch_start is not None:
            self.seconds += self._last_end - self._epoch_start
            self._epoch_start = None
        mine = torch.tensor([float(self.tokens), self.seconds], dtype=torch.float64, device=pl_module.device)
        gathered = trainer.strategy.all_gather(mine).reshape(-1, 2)  # [world_size, 2]
        self.all_tokens, self.all_seconds = gathered[:, 0].sum().item(), gathered[:, 1].max().item()
        if self.all_seconds > 0:
            # equal on every rank already; sync_dist only keeps Lightning's DDP warning quiet
            pl_module.log("train/tokens_per_s", self.all_tokens / self.all_seconds, sync_dist=True)

    @property
    def tokens_per_second(self) -> float:
        return self.all_tokens / self.all_seconds if self.all_seconds else float("nan")
