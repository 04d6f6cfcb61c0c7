"""Callbacks: what happens around the training steps without being part of them.

The `Trainer` draws batches, steps and keeps its state; everything else that a run does while
it trains (a progress bar, a wall-time limit, and in `flowmatch.runs` the log file,
checkpoints and sample grids) is a callback with three hooks. A callback stops training by
calling `trainer.request_stop()`; the loop ends after the current step.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from flowmatch.training.trainer import Trainer, TrainResult


class Callback(Protocol):
    def on_fit_start(self, trainer: Trainer) -> None: ...

    def on_step_end(self, trainer: Trainer, loss: float) -> None: ...

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None: ...


class BaseCallback:
    """No-op hooks to override."""

    def on_fit_start(self, trainer: Trainer) -> None:
        pass

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        pass

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        pass


class Deadline(BaseCallback):
    """Stops training after `minutes` of wall time (0: never); under DDP all ranks stop together."""

    def __init__(self, minutes: float):
        self.minutes = minutes
        self.deadline = math.inf

    def on_fit_start(self, trainer: Trainer) -> None:
        self.deadline = time.perf_counter() + 60 * self.minutes if self.minutes > 0 else math.inf

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        if self.deadline < math.inf and trainer.dist.any(time.perf_counter() > self.deadline, trainer.device):
            trainer.request_stop("max-minutes")


class Progress(BaseCallback):
    """A tqdm bar on a terminal (silent in logs and CI), showing the latest loss."""

    def __init__(self):
        self.bar = None

    def on_fit_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        # disable=None: a bar on a terminal, silence in logs and CI.
        self.bar = tqdm(total=trainer.config.steps, initial=trainer.step, desc="train", unit="step", dynamic_ncols=True, mininterval=0.5, disable=None)

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        self.bar.update(1)
        if trainer.step % 50 == 0:
            self.bar.set_postfix(loss=f"{loss:.4f}")

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        self.bar.close()


__all__ = ["BaseCallback", "Callback", "Deadline", "Progress"]
