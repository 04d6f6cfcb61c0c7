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

import torch

from flowmatch.training.progress import progress_bar

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
    """Stops training after `minutes` of wall time from the trainer's set-up (0: never); under DDP all ranks stop together.

    With `plan_schedule`, it also sizes the learning-rate schedule to the budget: at each tenth of
    the time it measures the pace since the first 5% (past the warm-up's slow first steps) and
    sets `trainer.schedule_steps` to the steps that fit before the deadline (at most
    config.steps). A schedule of config.steps cut by the clock on a slow machine would stop at a
    high rate; a planned one ends annealed on any machine.
    """

    def __init__(self, minutes: float, plan_schedule: bool = False):
        self.minutes = minutes
        self.plan_schedule = plan_schedule and minutes > 0
        self.deadline = math.inf

    def on_fit_start(self, trainer: Trainer) -> None:
        now = time.perf_counter()
        self.start = min(now, getattr(trainer, "created", now))  # the budget counts the run's set-up
        self.deadline = self.start + 60 * self.minutes if self.minutes > 0 else math.inf
        self.mark: tuple[float, int] | None = None  # (time, step) where the pace is measured from
        self.next_plan = 0.1

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        if self.deadline == math.inf:
            return
        now = time.perf_counter()
        if trainer.dist.any(now > self.deadline, trainer.device):
            trainer.request_stop("max-minutes")
        elif self.plan_schedule:
            self._plan(trainer, now)

    def _plan(self, trainer: Trainer, now: float) -> None:
        elapsed = (now - self.start) / (self.deadline - self.start)
        if self.mark is None:
            if elapsed >= 0.05:
                self.mark = (now, trainer.step)
            return
        if elapsed < self.next_plan or self.next_plan > 0.9 or trainer.step <= self.mark[1]:
            return
        self.next_plan = math.floor(elapsed * 10 + 1) / 10
        pace = (trainer.step - self.mark[1]) / (now - self.mark[0])
        planned = trainer.step + 0.98 * pace * (self.deadline - now)  # 2%: the last step must end in time
        # DDP: one plan for all ranks (their paces differ by a hair)
        planned = float(trainer.dist.average(torch.tensor([planned], device=trainer.device)).item())
        trainer.schedule_steps = max(trainer.step + 1, min(trainer.config.steps, int(planned)))


class Progress(BaseCallback):
    """A tqdm bar on a terminal (silent in logs and CI), showing the latest loss."""

    def __init__(self):
        self.bar = None

    def on_fit_start(self, trainer: Trainer) -> None:
        self.bar = progress_bar(trainer.config.steps, "train", unit="step")
        self.bar.update(trainer.step)

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        if self.bar.total != trainer.schedule_steps:  # a schedule planned for a time budget: its steps
            self.bar.total = trainer.schedule_steps
            self.bar.refresh()
        self.bar.update(1)
        if trainer.step % 50 == 0:
            self.bar.set_postfix(loss=f"{loss:.4f}")

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        self.bar.close()


__all__ = ["BaseCallback", "Callback", "Deadline", "Progress"]
