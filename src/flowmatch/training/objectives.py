"""Training objectives: one object per objective, owning how its batch is drawn and its loss.

The trainer draws what every objective shares (data, source, coupling: a `Paired` draw) and
hands it to the run's objective, chosen once by `make_objective` from `config.objective`:

- `FlowMatching` (`fm`): times t, label dropout, the bridge's noise; the conditional flow-matching
  loss on the path's target;
- `MeanFlow` (`meanflow`): times t and intervals h; the MeanFlow identity's loss;
- `FlowMap` (`flowmap`): one step of an N-step grid, both ends read off a teacher's path (fixed
  pairs with paths); the flow-map loss;
- `DiscreteFlow` (`discrete`, the objective of token data): tokens x_t of the mixture path
  (`flowmatch.discrete`), label dropout; the generalised KL or cross-entropy of the posterior.
- `RiemannianFlowMatching` (`fm` on a manifold, `--manifold`): flow matching's draws on the
  geodesic path; the loss in the metric's norm (flowmatch.manifolds).

Each objective also scores held-out data (`validate`, for `--val-data`): by default its loss on
them, and the negative log-likelihood where that is affordable (flow matching on points).

The draws of each objective come from the run's one generator in a fixed order, so a run resumed
from its checkpoint continues bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor, nn

from flowmatch.data import Batch, DataSource, GaussianSource, TokenSource
from flowmatch.discrete import DiscreteConfig, DiscreteDraw, MixturePath, Posterior, discrete_loss, draw_training, mask_elbo
from flowmatch.errors import FlowmatchError
from flowmatch.guidance import label_drop_mask
from flowmatch.likelihood import EXACT_MAX_DIM, log_likelihood, manifold_log_likelihood
from flowmatch.loss import flow_map_loss, flow_matching_loss, interval_model, mean_flow_loss, resolve_time_sampling, riemannian_fm_loss, sample_grid_interval, sample_interval, sample_time
from flowmatch.paths import AffinePath, BridgePath, GeodesicPath
from flowmatch.solvers import hermite

# the likelihood of validation data: a fixed-step solve, cheap next to training (model selection
# compares checkpoints of one run, so the solver's small bias is the same for all of them)
VALIDATION_SOLVER, VALIDATION_STEPS = "midpoint", 32


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


@dataclass(frozen=True)
class Validation:
    """A validation figure, lower is better: metric 'val_nll' (nats per point) or 'val_loss'."""

    metric: str
    value: float


class Objective:
    """One training objective: `draw` completes a paired draw into a batch, `loss` scores it,
    `validate` scores held-out data.

    forward: the network as trained (perhaps DDP- or compile-wrapped); model: the plain module.
    """

    name: ClassVar[str]
    #  whether the objective trains on fixed pairs only (a teacher's solved paths)
    needs_paths: ClassVar[bool] = False

    def __init__(self, config: Any, path: AffinePath | BridgePath):
        self.config = config
        self.path = path

    @classmethod
    def network_options(cls, config: Any, vocab_size: int = 0) -> dict[str, Any]:
        """The `build_model` options this objective's network needs (an interval input, ...)."""
        return interval_model(cls.name, config.distill_guidance)

    def source(self, data: DataSource) -> DataSource | None:
        """The source p0 this objective draws x0 from, or None for the run's configured source."""
        return None

    def draw(self, paired: Paired, generator: torch.Generator, num_classes: int, pairs: Any) -> TrainBatch:
        raise NotImplementedError

    def loss(self, batch: TrainBatch, forward: Callable[..., Tensor], model: nn.Module) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def validate(self, model: nn.Module, data: Batch, source: DataSource, generator: torch.Generator) -> Validation:
        """The mean loss over held-out data: (N, *D) in batches of the run's size, paired as drawn
        with source draws and the objective's own draws from `generator` (a fixed seed: every
        evaluation sees the same draws)."""
        b, total, count = self.config.batch_size, 0.0, 0
        for start in range(0, len(data.x), b):
            x1 = data.x[start : start + b]
            cond = {k: v[start : start + b] for k, v in (("y", data.y), ("c", data.c)) if v is not None}
            batch = self.draw(Paired(source.sample(len(x1), generator).x, x1, cond), generator, 0, None)
            total += float(self.loss(batch, model, model)) * len(x1)
            count += len(x1)
        return Validation("val_loss", total / count)


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

    def validate(self, model: nn.Module, data: Batch, source: DataSource, generator: torch.Generator) -> Validation:
        """The validation NLL for a velocity on an affine path from a Gaussian, on points of up to
        EXACT_MAX_DIM dimensions (the exact trace); the loss otherwise."""
        affordable = type(self) is FlowMatching and isinstance(self.path, AffinePath) and isinstance(source, GaussianSource) and self.config.target == "velocity" and data.x[0].numel() <= EXACT_MAX_DIM
        if not affordable:
            return super().validate(model, data, source, generator)
        cond = {k: v for k, v in (("y", data.y), ("c", data.c)) if v is not None}
        res = log_likelihood(model, data.x, source_scale=source.scale, method=VALIDATION_SOLVER, steps=VALIDATION_STEPS, cond=cond)
        return Validation("val_nll", res.nll)


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


class RiemannianFlowMatching(FlowMatching):
    """Flow matching on a manifold: |v(x_t, t) - u_t|^2_g on the geodesic path (flowmatch.manifolds)."""

    name = "fm"

    def __init__(self, config: Any, path: GeodesicPath):
        if config.objective != "fm" or config.target != "velocity":
            raise FlowmatchError(f"--manifold {config.manifold} trains by flow matching on velocities: it takes --objective fm and --target velocity")
        super().__init__(config, path)

    def loss(self, batch: TrainBatch, forward: Callable[..., Tensor], model: nn.Module) -> Tensor:
        return riemannian_fm_loss(forward, self.path, batch.x0, batch.x1, batch.t, weight=batch.weight, **batch.cond)

    def validate(self, model: nn.Module, data: Batch, source: DataSource, generator: torch.Generator) -> Validation:
        """The validation NLL on the manifold (nats per point, w.r.t. its volume measure)."""
        cond = {k: v for k, v in (("y", data.y), ("c", data.c)) if v is not None}
        res = manifold_log_likelihood(self.path.manifold, model, data.x, method=VALIDATION_SOLVER, steps=VALIDATION_STEPS, cond=cond, source_log_prob=getattr(source, "log_prob", None))
        return Validation("val_nll", res.nll)


class DiscreteFlow(Objective):
    """A discrete flow: the posterior p_{1|t}(x1 | x_t) of the mixture path over tokens, trained by
    the generalised KL (on the mask path: the likelihood bound, in nats per token) or cross-entropy.

    The batch carries x_t in `x0` and each token's loss weight (B, L) in `weight`.
    """

    name = "discrete"

    def __init__(self, config: Any, path: AffinePath | BridgePath, data: DataSource | None = None):
        super().__init__(config, path)
        vocab = int(getattr(data, "vocab_size", 0) or 0)
        if vocab < 2:
            raise FlowmatchError("a discrete flow trains on token data: discrete-checkerboard, a UTF-8 .txt file, or integer tokens (.npy/.npz with --vocab-size)")
        if config.coupling != "independent":
            raise FlowmatchError(f"token data are paired with their source independently; --coupling {config.coupling} applies to continuous data")
        self.mixture: MixturePath = discrete_path(config, vocab)

    @classmethod
    def network_options(cls, config: Any, vocab_size: int = 0) -> dict[str, Any]:
        return {"vocab": vocab_size, "input_vocab": discrete_path(config, vocab_size).input_vocab}

    def source(self, data: DataSource) -> DataSource:
        return TokenSource(self.mixture, data.shape)

    def draw(self, paired: Paired, generator: torch.Generator, num_classes: int, pairs: Any) -> TrainBatch:
        b = len(paired.x1)
        draw = draw_training(self.mixture, paired.x1, self.config.discrete_loss, generator)
        drop = label_drop_mask(b, self.config.cond_drop, generator) if "y" in paired.cond and num_classes else None
        return TrainBatch(x0=draw.x_t, x1=paired.x1, cond=paired.cond, t=draw.t, drop=drop, weight=draw.weight)

    def validate(self, model: nn.Module, data: Batch, source: DataSource, generator: torch.Generator) -> Validation:
        """On the mask path the likelihood bound of the held-out sequences (nats per token, 'val_nll'); else the loss."""
        if self.mixture.source != "mask":
            return super().validate(model, data, source, generator)
        cond = {} if data.y is None else {"y": data.y}
        return Validation("val_nll", mask_elbo(Posterior(model), self.mixture, data.x, batch_size=self.config.batch_size, generator=generator, cond=cond).nll)

    def loss(self, batch: TrainBatch, forward: Callable[..., Tensor], model: nn.Module) -> Tensor:
        logits = forward(batch.x0, batch.t, **batch.cond)
        return discrete_loss(self.mixture, logits, batch.x1, DiscreteDraw(batch.x0, batch.t, batch.weight), self.config.discrete_loss)


def discrete_path(config: Any, vocab_size: int) -> MixturePath:
    """The mixture path of a discrete run over `vocab_size` tokens (its DiscreteConfig options)."""
    return config.part(DiscreteConfig).build_path(vocab_size)


OBJECTIVE_CLASSES: dict[str, type[Objective]] = {cls.name: cls for cls in (FlowMatching, MeanFlow, FlowMap, DiscreteFlow)}


def make_objective(config: Any, path: AffinePath | BridgePath | GeodesicPath, pairs: Any = None, data: DataSource | None = None) -> Objective:
    """The objective `config.objective` names, checked against the pairs it trains on (on a
    manifold's geodesic path: Riemannian flow matching; a discrete flow also against its data,
    whose vocabulary it takes)."""
    if isinstance(path, GeodesicPath):
        if pairs is not None:
            raise FlowmatchError(f"--manifold {config.manifold} trains on drawn batches, not fixed --pairs")
        return RiemannianFlowMatching(config, path)
    cls = OBJECTIVE_CLASSES[config.objective]
    if cls is DiscreteFlow:
        if pairs is not None:
            raise FlowmatchError("a discrete flow trains on drawn token data, not on fixed pairs")
        return DiscreteFlow(config, path, data)
    if cls.needs_paths and (pairs is None or pairs.states is None):
        raise FlowmatchError("--objective flowmap distils a teacher's paths: it needs --pairs made with paths (flowmatch reflow --flow-map)")
    if config.distill_guidance > 0 and (not cls.needs_paths or pairs.guidance is None):
        raise FlowmatchError("--distill-guidance trains a student of guided paths: it needs --objective flowmap and pairs made with guidance weights")
    return cls(config, path)


__all__ = ["OBJECTIVE_CLASSES", "DiscreteFlow", "discrete_path", "FlowMap", "FlowMatching", "MeanFlow", "Objective", "Paired", "RiemannianFlowMatching", "TrainBatch", "Validation", "make_objective"]
