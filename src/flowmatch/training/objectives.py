"""Training objectives: one object per objective, owning how its batch is drawn and its loss.

The trainer draws what every objective shares (data, source, coupling: a `Paired` draw) and
hands it to the run's objective, chosen once by `make_objective` from `config.objective`:

- `FlowMatching` (`fm`): times t, label dropout, the bridge's noise; the conditional flow-matching
  loss on the path's target;
- `MeanFlow` (`meanflow`): times t and intervals h; the MeanFlow identity's loss;
- `FlowMap` (`flowmap`): one step of an N-step grid, both ends read off a teacher's path (fixed
  pairs with paths); the flow-map loss.

The draws of each objective come from the run's one generator in a fixed order, so a run resumed
from its checkpoint continues bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor, nn

from flowmatch.errors import FlowmatchError
from flowmatch.guidance import label_drop_mask
from flowmatch.loss import flow_map_loss, flow_matching_loss, interval_model, mean_flow_loss, resolve_time_sampling, sample_grid_interval, sample_interval, sample_time
from flowmatch.paths import AffinePath, BridgePath
from flowmatch.solvers import hermite


@dataclass(frozen=True)
class Paired:
    """What the trainer drew before the objective's own draws: x0: (B, *D) source, x1: (B, *D)
    coupled data, cond: conditioning tensors (labels y, conditions c, a student's guidance weight);
    weight: (B,) pair weights of unbalanced/partial OT (or None); rows: (B,) the fixed pairs'
    rows drawn (or None for drawn batches)."""

    x0: Tensor
    x1: Tensor
    cond: dict[str, Tensor]
    weight: Tensor | None = None
    rows: Tensor | None = None


@dataclass(frozen=True)
class TrainBatch:
    """x0: (B, *D) source, x1: (B, *D) coupled data, cond: conditioning tensors, t: (B,) times;
    h: (B,) intervals of the average-velocity objectives (or None); drop: (B,) label dropout still
    to apply after pairing (or None); noise: (B, *D) the bridge's eps (or None); weight: (B,) pair
    weights (or None)."""

    x0: Tensor
    x1: Tensor
    cond: dict[str, Tensor]
    t: Tensor
    h: Tensor | None = None
    drop: Tensor | None = None
    noise: Tensor | None = None
    weight: Tensor | None = None


class Objective:
    """One training objective: `draw` completes a paired draw into a batch, `loss` scores it.

    forward: the network as trained (perhaps DDP- or compile-wrapped); model: the plain module.
    """

    name: ClassVar[str]
    #  whether the objective trains on fixed pairs only (a teacher's solved paths)
    needs_paths: ClassVar[bool] = False

    def __init__(self, config: Any, path: AffinePath | BridgePath):
        self.config = config
        self.path = path

    @classmethod
    def network_options(cls, config: Any) -> dict[str, Any]:
        """The `build_model` options this objective's network needs (an interval input, ...)."""
        return interval_model(cls.name, config.distill_guidance)

    def draw(self, paired: Paired, generator: torch.Generator, num_classes: int, pairs: Any) -> TrainBatch:
        raise NotImplementedError

    def loss(self, batch: TrainBatch, forward: Callable[..., Tensor], model: nn.Module) -> Tensor:
        raise NotImplementedError


class FlowMatching(Objective):
    """Conditional flow matching: |v(x_t, t) - target|^2 on the path (the bridge: velocity and score)."""

    name = "fm"

    def times(self, b: int, g: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """(t, h) of one batch: t (B,) and, for the average-velocity objectives, h (B,)."""
        cfg = self.config
        t = sample_time(b, resolve_time_sampling(cfg.time_sampling, cfg.coupling, cfg.objective), g)
        if cfg.distill_fraction > 0:  # one-step distillation: that share of the rows starts at t = 0
            t = torch.where(torch.rand(b, generator=g) < cfg.distill_fraction, torch.zeros_like(t), t)
        return t, None

    def draw(self, paired: Paired, generator: torch.Generator, num_classes: int, pairs: Any) -> TrainBatch:
        b = len(paired.x0)
        t, h = self.times(b, generator)
        drop = None
        if "y" in paired.cond and num_classes and pairs is None:  # classifier-free guidance: labels -> null class
            drop = label_drop_mask(b, self.config.cond_drop, generator)
        noise = torch.randn(paired.x1.shape, generator=generator) if isinstance(self.path, BridgePath) else None
        return TrainBatch(x0=paired.x0, x1=paired.x1, cond=paired.cond, t=t, h=h, drop=drop, noise=noise, weight=paired.weight)

    def loss(self, batch: TrainBatch, forward: Callable[..., Tensor], model: nn.Module) -> Tensor:
        return flow_matching_loss(forward, self.path, batch.x0, batch.x1, batch.t, target=self.config.target, noise=batch.noise, weight=batch.weight, **batch.cond)


class MeanFlow(FlowMatching):
    """MeanFlow: the average velocity u(x_t, t, h) trained on the MeanFlow identity (see flowmatch.loss)."""

    name = "meanflow"

    def __init__(self, config: Any, path: AffinePath | BridgePath):
        if isinstance(path, BridgePath) or config.target != "velocity":
            raise FlowmatchError("--objective meanflow learns average velocities: it takes --target velocity and an affine path, not the bridge")
        super().__init__(config, path)

    def times(self, b: int, g: torch.Generator) -> tuple[Tensor, Tensor | None]:
        t, _ = super().times(b, g)
        return sample_interval(t, resolve_time_sampling(self.config.time_sampling, self.config.coupling, self.config.objective), self.config.mean_flow_fraction, g)

    def loss(self, batch: TrainBatch, forward: Callable[..., Tensor], model: nn.Module) -> Tensor:
        return mean_flow_loss(forward, self.path, batch.x0, batch.x1, batch.t, batch.h, weight_power=self.config.mean_flow_weight_power, tangent_model=model, **batch.cond)


class FlowMap(Objective):
    """Flow-map distillation: u(x_t, t, h) regressed on (x_{t+h} - x_t) / h along a teacher's paths."""

    name = "flowmap"
    needs_paths = True

    def draw(self, paired: Paired, generator: torch.Generator, num_classes: int, pairs: Any) -> TrainBatch:
        # one step of an N-step grid, both ends read off the teacher's path of each drawn row
        t, h = sample_grid_interval(len(paired.x0), self.config.distill_fraction, generator)
        rows = paired.rows
        x_t = hermite(pairs.states, pairs.velocities, pairs.times, t, rows)
        x_end = hermite(pairs.states, pairs.velocities, pairs.times, (t + h).clamp(max=1.0), rows)
        return TrainBatch(x0=x_t, x1=x_end, cond=paired.cond, t=t, h=h)

    def loss(self, batch: TrainBatch, forward: Callable[..., Tensor], model: nn.Module) -> Tensor:
        # x0, x1 hold the teacher's states at t and t + h
        return flow_map_loss(forward, batch.x0, batch.x1, batch.t, batch.h, **batch.cond)


OBJECTIVE_CLASSES: dict[str, type[Objective]] = {cls.name: cls for cls in (FlowMatching, MeanFlow, FlowMap)}


def make_objective(config: Any, path: AffinePath | BridgePath, pairs: Any = None) -> Objective:
    """The objective `config.objective` names, checked against the pairs it trains on."""
    cls = OBJECTIVE_CLASSES[config.objective]
    if cls.needs_paths and (pairs is None or pairs.states is None):
        raise FlowmatchError("--objective flowmap distils a teacher's paths: it needs --pairs made with paths (flowmatch reflow --flow-map)")
    if config.distill_guidance > 0 and (not cls.needs_paths or pairs.guidance is None):
        raise FlowmatchError("--distill-guidance trains a student of guided paths: it needs --objective flowmap and pairs made with guidance weights")
    return cls(config, path)


__all__ = ["OBJECTIVE_CLASSES", "FlowMap", "FlowMatching", "MeanFlow", "Objective", "Paired", "TrainBatch", "make_objective"]
