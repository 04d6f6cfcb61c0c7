"""One flow the explorer trains: the toolkit's `Trainer` built from a tab's settings, and the
fixed point sets its pictures are drawn from.

The particles start from the same source points in every frame (`x0`), and W2 is measured
against the same target points (`ref`), so that what changes between frames is the flow alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.data import ArrayData, DataSource, load_data
from flowmatch.explore.settings import DRAWN, Settings, decode_points
from flowmatch.explore.views import extent_of
from flowmatch.training import TrainConfig, Trainer

MAX_PARTICLES = 4000  # the largest n; a smaller n shows the first n, so particles keep their places
REF_POINTS = 400  # target points for W2: exact W2 of 400 x 400 points costs ~10-25 ms (POT)
COMPARE_POINTS = 300  # per solver in the side-by-side comparison
VIEW_BATCH = 48  # the one batch of the coupling and paths views
# The EMA the page samples from: 0.99 follows the weights within ~100 steps, so the pictures
# move while training (0.999, the toolkit's default for runs, would trail by ~1,000 steps).
EMA_DECAY = 0.99


@dataclass
class Flow:
    """trainer: the toolkit's Trainer; x0: (MAX_PARTICLES, 2) source points; ref: (REF_POINTS, 2)
    target points; view_x0, view_x1: (VIEW_BATCH, 2) one batch of source and target points;
    extent: half-width of the square drawn; gaussian: whether the source is the path's Gaussian."""

    trainer: Trainer
    x0: Tensor
    ref: Tensor
    view_x0: Tensor
    view_x1: Tensor
    extent: float
    gaussian: bool

    @property
    def step(self) -> int:
        return self.trainer.step

    def velocity(self):
        """The sampling model v(x, t) (EMA weights), x: (B, 2), t: (B,)."""
        return self.trainer.sampling_model()

    def close(self) -> None:
        """Stop the trainer's batch pipeline (its OT worker threads)."""
        self.trainer.pipeline.close()


def _side(settings: Settings, side: str) -> DataSource | None:
    """The drawn point cloud of data or source, or None for a named set."""
    if getattr(settings, side) != DRAWN:
        return None
    return ArrayData(decode_points(getattr(settings, f"{side}_pts"), f"{side}_pts"), name=f"drawn {side}")


def config_of(settings: Settings, max_steps: int) -> TrainConfig:
    """The TrainConfig of a tab's settings: an open-ended run (constant learning rate, `max_steps`
    at most), on the CPU, with no files and no progress bar."""
    return TrainConfig(
        data=settings.data,
        source=settings.source,
        path=settings.path,
        coupling=settings.coupling,
        # live training wants cheap steps: exact OT in blocks of 64 rows, not the default pools of
        # 1,024 rows (several times the time per step on points)
        ot_block=64,
        hidden=settings.width,
        depth=settings.depth,
        lr=settings.lr,
        batch_size=settings.batch,
        seed=settings.seed,
        steps=max_steps,
        lr_schedule="constant",  # training has no planned end, so nothing to decay towards
        ema_decay=EMA_DECAY,
        progress=False,
        device="cpu",
        prefetch=1,  # one OT solve ahead is enough here, and keeps one worker thread per tab
    )


def build_flow(settings: Settings, max_steps: int) -> Flow:
    """A fresh flow (step 0) for `settings`; FlowmatchError for settings the toolkit refuses."""
    config = config_of(settings, max_steps)
    data = _side(settings, "data")
    if data is None:
        data = load_data(settings.data)
    trainer = Trainer(config, data, source=_side(settings, "source"))
    # The pictures' points come from their own generator, so they do not shift the training draws.
    g = torch.Generator().manual_seed(settings.seed + 1)
    x0 = trainer.source.sample(MAX_PARTICLES, g).x
    ref = trainer.data.sample(REF_POINTS, g).x
    view_x0 = trainer.source.sample(VIEW_BATCH, g).x
    view_x1 = trainer.data.sample(VIEW_BATCH, g).x
    return Flow(trainer, x0, ref, view_x0, view_x1, extent_of(x0[:1000], ref), settings.source == "gaussian")


__all__ = ["COMPARE_POINTS", "EMA_DECAY", "Flow", "MAX_PARTICLES", "REF_POINTS", "VIEW_BATCH", "build_flow", "config_of"]
