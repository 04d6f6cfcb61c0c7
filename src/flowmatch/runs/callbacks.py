"""Training callbacks that write a run directory: the JSON-lines log, checkpoints, sample grids
(the TensorBoard and wandb loggers are in `flowmatch.runs.loggers`).

Only the main process (rank 0 under DDP) gets these callbacks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO

import numpy as np
import torch

from flowmatch.errors import NonFiniteError
from flowmatch.fileio import atomic_write_text, read_json_object
from flowmatch.guidance import GuidedVelocity
from flowmatch.runs.checkpoint import save_checkpoint
from flowmatch.runs.files import BEST_CHECKPOINT, BEST_RECORD, CHECKPOINT, LOG_FILE, SAMPLE_DIR, VALIDATION_LOG
from flowmatch.runs.images import grid_array, points_picture, save_image_grid
from flowmatch.solvers import solve
from flowmatch.training import BaseCallback, Trainer, TrainResult

GRID_COLS, GRID_GUIDANCE, GRID_STEPS = 8, 2.0, 5  # training-time grids: 8 per class, w=2, NFE 10
POINTS = 2000  # 2D runs: points in a training-time picture


class WindowLog(BaseCallback):
    """Every `every` steps (and at the last), one record {step, loss, lr, steps_per_s} (the mean
    loss of the window) handed to `write`; the loggers (log.jsonl, TensorBoard, wandb) say where."""

    def __init__(self, every: int):
        self.every = every
        self.window: list[float] = []
        self.window_start = 0.0

    def open(self, trainer: Trainer) -> None:
        pass

    def write(self, trainer: Trainer, record: dict) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def on_fit_start(self, trainer: Trainer) -> None:
        self.open(trainer)
        self.window, self.window_start = [], time.perf_counter()

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        self.window.append(loss)
        if trainer.step % self.every == 0 or trainer.step == trainer.config.steps:
            now = time.perf_counter()
            rate = len(self.window) / max(now - self.window_start, 1e-9)
            record = {"step": trainer.step, "loss": sum(self.window) / len(self.window), "lr": trainer.optimizer.param_groups[0]["lr"], "steps_per_s": round(rate, 2)}
            self.write(trainer, record)
            self.window, self.window_start = [], now

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        self.close()


class JsonLog(WindowLog):
    """One line {step, loss, lr, steps_per_s} per `every` steps (mean loss of the window) to log.jsonl."""

    def __init__(self, run_dir: Path, every: int):
        super().__init__(every)
        self.path = run_dir / LOG_FILE
        self.fh: IO[str] | None = None

    def open(self, trainer: Trainer) -> None:
        self.fh = open(self.path, "a")

    def write(self, trainer: Trainer, record: dict) -> None:
        self.fh.write(json.dumps(record) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


class Checkpoints(BaseCallback):
    """A checkpoint every `every` steps and one at the end (a finished, stopped or empty run)."""

    def __init__(self, run_dir: Path, every: int, extra: dict | None = None):
        self.path, self.every = run_dir / CHECKPOINT, every
        self.extra = dict(extra or {})  # saved beside the trainer's state (the run's file fingerprints)
        self.saved_at = -1

    def on_fit_start(self, trainer: Trainer) -> None:
        self.saved_at = trainer.step if self.path.exists() else -1

    def save(self, trainer: Trainer) -> None:
        """Save, unless a weight (model or EMA) is NaN or infinite: then keep the last good checkpoint and stop."""
        modules = [trainer.model] + ([trainer.ema.model] if trainer.ema else [])
        tensors = [p.detach() for m in modules for p in m.state_dict().values() if p.is_floating_point()]
        if not all(bool(torch.isfinite(t).all()) for t in tensors):
            raise NonFiniteError(f"weights became NaN or infinite by step {trainer.step}; lower --lr or check the data")
        save_checkpoint({**trainer.state_dict(), **self.extra}, self.path)
        self.saved_at = trainer.step

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        if trainer.step % self.every == 0 or trainer.step == trainer.config.steps:
            self.save(trainer)

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        if self.saved_at != trainer.step or not self.path.exists():
            self.save(trainer)

    def kept(self) -> str:
        """What is left after a failure: the last good checkpoint, or none."""
        return f"the checkpoint of step {self.saved_at} is kept" if self.saved_at >= 0 and self.path.exists() else "no checkpoint was written"


class BestCheckpoint(BaseCallback):
    """--val-data: the validation figure every `every` steps and at the end (one line each in
    validation.jsonl); best.pt, the checkpoint with the lowest so far, and best.json, its step and figure."""

    def __init__(self, run_dir: Path, every: int, extra: dict | None = None):
        self.dir, self.every = run_dir, every
        self.extra = dict(extra or {})  # saved beside the trainer's state, as in checkpoint.pt
        self.best: float | None = None
        self.checked_at = -1

    def on_fit_start(self, trainer: Trainer) -> None:
        record = self.dir / BEST_RECORD
        if record.is_file() and (self.dir / BEST_CHECKPOINT).is_file():  # a resumed run keeps its best so far
            value = read_json_object(record, f"no {BEST_RECORD}", "best-checkpoint record").get("value")
            self.best = float(value) if isinstance(value, (int, float)) else None

    def check(self, trainer: Trainer) -> None:
        figure = trainer.validate()
        self.checked_at = trainer.step
        record = {"step": trainer.step, figure.metric: figure.value}
        with open(self.dir / VALIDATION_LOG, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if np.isfinite(figure.value) and (self.best is None or figure.value < self.best):
            self.best = figure.value
            save_checkpoint({**trainer.state_dict(), **self.extra}, self.dir / BEST_CHECKPOINT)
            atomic_write_text(self.dir / BEST_RECORD, json.dumps({"step": trainer.step, "metric": figure.metric, "value": figure.value}) + "\n")

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        if trainer.step % self.every == 0:
            self.check(trainer)

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        if self.checked_at != trainer.step:
            self.check(trainer)


@torch.no_grad()
def draw_samples(trainer: Trainer, seed: int) -> torch.Tensor:
    """Samples from the sampling (EMA) model for a picture, from a generator of their own (the
    training RNG is untouched): images, 8 per class (guidance 2) or 64; 2D points, 2,000."""
    model = trainer.sampling_model()
    was_training = model.training
    model.eval()
    g = torch.Generator().manual_seed(seed)
    k = trainer.data.num_classes
    if k and trainer.images:
        y = torch.arange(min(k, GRID_COLS)).repeat_interleave(GRID_COLS)
        velocity = GuidedVelocity(model, y, GRID_GUIDANCE, k)
    else:
        y, velocity = torch.zeros(GRID_COLS * GRID_COLS if trainer.images else POINTS), model
    x0 = trainer.source.sample(len(y), g).x.to(trainer.device)
    x = solve(velocity, x0, method="midpoint", steps=GRID_STEPS).x
    model.train(was_training)
    return x


def sample_picture(trainer: Trainer, seed: int) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8: a grid of sampled images, or a 2D histogram of sampled points."""
    x = draw_samples(trainer, seed)
    return grid_array(x, GRID_COLS) if trainer.images else points_picture(x)


class SampleGrids(BaseCallback):
    """Image runs: a grid from the sampling model (one row per class, guidance 2) every `every` steps and at the end."""

    def __init__(self, run_dir: Path, every: int, seed: int):
        self.dir, self.every, self.seed = run_dir / SAMPLE_DIR, every, seed
        self.written_at = -1

    def write(self, trainer: Trainer) -> Path:
        x = draw_samples(trainer, self.seed)
        self.written_at = trainer.step
        return save_image_grid(x, self.dir / f"step_{trainer.step:07d}.png", ncol=GRID_COLS)

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        if trainer.step % self.every == 0 or trainer.step == trainer.config.steps:
            self.write(trainer)

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        if result.stopped and self.written_at != trainer.step:  # a last grid for a time-limited run
            self.write(trainer)


__all__ = ["BestCheckpoint", "Checkpoints", "JsonLog", "SampleGrids", "WindowLog", "draw_samples", "sample_picture"]
