"""Stop on a non-finite training loss without making every training step wait for the GPU."""

from __future__ import annotations

import torch

from src.utils.errors import NumericsError

# Training steps between two reads of the watch, by device type: one device->host sync per that many
# steps. The CPU has no queue of kernels to stall, so it reads every step and stops at the very step.
STEPS_BETWEEN_CHECKS = {"cpu": 1}
ACCELERATOR_STEPS_BETWEEN_CHECKS = 100


def training_loss_error(loss: float, step: int, epoch: int, batch: int) -> NumericsError:
    return NumericsError(
        f"non-finite training loss ({loss}) at global step {step} (epoch {epoch}, batch {batch}); "
        "lower model.optimizer.lr or check the data"
    )


class NonFiniteLossWatch:
    """Remembers, on the loss's own device, the first non-finite training loss since the last ``check``.

    ``if not torch.isfinite(loss)`` in every step is a device->host sync: on CUDA the host waits for
    the step's kernels to finish before it can queue the next step's, which stalls a launch-bound
    step (issue 15). ``observe`` only queues two ``torch.where`` kernels; ``check`` reads the result
    once (one sync) and raises :class:`NumericsError` naming the first bad step. ``observe`` checks
    every ``STEPS_BETWEEN_CHECKS`` steps (1 on the CPU: it stops at the very step), and the module
    before validation, at the end of each epoch and before any checkpoint is saved, so a NaN still
    stops the run before a checkpoint can store the weights it broke.
    """

    def __init__(self):
        self._steps: list[tuple[int, int, int]] = []  # (global step, epoch, batch) of each step since the last check
        self._first: torch.Tensor | None = None  # index into _steps of the first non-finite loss, -1 while none
        self._loss: torch.Tensor | None = None  # that loss

    def observe(self, loss: torch.Tensor, step: int, epoch: int, batch: int) -> None:
        loss = loss.detach()
        if self._first is None:
            self._first = torch.full((), -1, dtype=torch.long, device=loss.device)
            self._loss = torch.zeros((), dtype=loss.dtype, device=loss.device)
        first_bad = (self._first < 0) & ~torch.isfinite(loss)
        self._first = torch.where(first_bad, len(self._steps), self._first)
        self._loss = torch.where(first_bad, loss, self._loss)
        self._steps.append((step, epoch, batch))
        if len(self._steps) >= STEPS_BETWEEN_CHECKS.get(loss.device.type, ACCELERATOR_STEPS_BETWEEN_CHECKS):
            self.check()

    def check(self) -> None:
        """Raise for the first non-finite loss observed since the last check; forget the others."""
        if self._first is None:
            return
        first, loss, steps = int(self._first), float(self._loss), self._steps
        self._first, self._loss, self._steps = None, None, []
        if first >= 0:
            raise training_loss_error(loss, *steps[first])
