"""The training objectives: conditional flow matching and MeanFlow, training times, options.

The loss regresses the network on the path's target for each pair (x0, x1): by default the
velocity alpha_t' x1 + sigma_t' x0, which has the same gradient as regressing on the (unknown)
marginal field; with `target` x1 or epsilon, the network predicts the data x1 or the source
sample x0 and the loss is the squared error of that prediction (`flowmatch.paths.targets`
converts it to a velocity for sampling). On the Brownian bridge the network is a velocity and a
score (`VelocityAndScore`); the score's loss is |s_t score + eps|^2 with s_t the bridge's
standard deviation (the score of N(mu_t, s_t^2) is -eps / s_t, weighted by s_t^2 so that it stays
finite at the ends). Pairs may carry weights (unbalanced and partial OT): the loss is then the
mean of weight x squared error.

MeanFlow learns the average velocity over an interval, u(x_t, t, h) = (1/h) int_t^{t+h} v dtau
along the ODE path, so that one step x_{t+h} = x_t + h u(x_t, t, h) is exact for any h. With
t + h held fixed, d/dt [h u] = -v gives the identity it is trained on,

    u(x_t, t, h) = v(x_t, t) + h (d/dt) u(x_t, t, h),  d/dt = v . grad_x + d/dt - d/dh,

with the conditional velocity in place of v and the total derivative from one forward-mode
Jacobian-vector product (torch.func.jvp), held out of the gradient.

Flow-map distillation (`--objective flowmap`, trained on a teacher's solved paths) regresses the
same average velocity directly on the teacher: u(x_t, t, h) against (x_{t+h} - x_t) / h with both
states read off the teacher's path, so an N-step sample follows the teacher's own paths at any N.

On a manifold (`riemannian_fm_loss`) the geodesic path's conditional velocity is regressed in the
metric's norm.

References: Lipman et al., "Flow Matching for Generative Modeling" (2023); Chen and Lipman,
"Flow Matching on General Geometries" (2024); Tong et al.,
"Simulation-free Schrödinger bridges via score and flow matching" (2024); Geng et al., "Mean
Flows for One-step Generative Modeling" (2025); Boffi, Albergo and Vanden-Eijnden, "Flow Map
Matching" (2024).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from flowmatch.options import check_options, option
from flowmatch.paths import TARGETS, AffinePath, BridgePath, GeodesicPath, regression_target
from flowmatch.paths.affine import _expand

TIME_SAMPLING = ("uniform", "logit-normal")
OBJECTIVES = ("fm", "meanflow", "flowmap", "discrete")
# flowmap: the N-step grids a distilled model is trained on, N = 1..FLOW_MAP_MAX_STEPS (the
# one-step benchmark NFEs 1, 2 and 10 all lie on one; other N are read between them)
FLOW_MAP_MAX_STEPS = 10


def interval_model(objective: str, distill_guidance: float = 0.0) -> dict:
    """build_model options of a run trained with `objective`: an interval input h for the
    average-velocity objectives; flowmap keeps a velocity model's time features (scale 1000), as
    it starts from one and trains on no derivative in t; a flowmap student of guided paths
    (distill_guidance > 0) also takes the guidance weight."""
    return {
        "mean_flow": objective in ("meanflow", "flowmap"),
        "embed_scale": 1000.0 if objective == "flowmap" else 0.0,
        **({"guidance_input": True} if objective == "flowmap" and distill_guidance > 0 else {}),
    }


def resolve_time_sampling(kind: str, coupling: str, objective: str) -> str:
    """The distribution of training times `kind` names; "auto": uniform for flow matching with the
    minibatch-OT coupling, else logit-normal.

    One Euler step reads the velocity at t = 0 only, where logit-normal times rarely train it: on
    C2OT's class-conditional 8gaussians -> moons with OT, uniform times took one-step W2^2 from
    0.141 to 0.073 and the adaptive solver's from 0.0114 to 0.0092 (docs/benchmarks/fewstep_points.md).
    With independent pairs logit-normal times were better at 1 to 8 steps (docs/benchmarks/index.md).
    """
    if kind != "auto":
        return kind
    return "uniform" if coupling == "ot" and objective == "fm" else "logit-normal"


def sample_time(n: int, kind: str, generator: torch.Generator) -> Tensor:
    """(n,) training times: uniform on [0, 1], or logit-normal sigmoid(N(0, 1))."""
    if kind == "uniform":
        return torch.rand(n, generator=generator)
    return torch.sigmoid(torch.randn(n, generator=generator))


def flow_matching_loss(
    model: Callable[..., Tensor],
    path: AffinePath | BridgePath,
    x0: Tensor,
    x1: Tensor,
    t: Tensor,
    *,
    target: str = "velocity",
    noise: Tensor | None = None,
    weight: Tensor | None = None,
    **cond: Tensor,
) -> Tensor:
    """Mean over the batch of the squared error of the network's prediction; x0, x1: (B, *D), t: (B,).

    Affine paths: |model(x_t, t) - target|^2 with the target named by `target`. The bridge: the
    velocity's and the score's errors, with `noise` (B, *D) the bridge's eps. weight: (B,) pair
    weights (mean 1) or None.
    """
    if isinstance(path, BridgePath):
        ps = path.sample(x0, x1, t, noise)
        out = model(ps.x_t, t, joint=True, **cond)
        std = _expand(path.std(t), x1)
        per = (out[:, 0] - ps.velocity).pow(2).flatten(1).sum(1) + (std * out[:, 1] + noise).pow(2).flatten(1).sum(1)
    else:
        ps = path.sample(x0, x1, t)
        per = (model(ps.x_t, t, **cond) - regression_target(ps, target)).pow(2).flatten(1).sum(1)
    return per.mean() if weight is None else (weight * per).mean()


def sample_interval(t: Tensor, kind: str, fraction: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """(t, h): each (B,), t + h <= 1. A `fraction` of the rows gets an interval between two
    times drawn like t (their minimum becomes t); the others h = 0, plain flow matching."""
    other = sample_time(len(t), kind, generator)
    start, end = torch.minimum(t, other), torch.maximum(t, other)
    wide = torch.rand(len(t), generator=generator) < fraction
    return torch.where(wide, start, t), torch.where(wide, end - start, torch.zeros_like(t))


def sample_grid_interval(n: int, one_step_fraction: float, generator: torch.Generator, max_steps: int = FLOW_MAP_MAX_STEPS) -> tuple[Tensor, Tensor]:
    """(t, h): each (B,), one step of an N-step uniform grid: h = 1/N, t = k/N with k uniform in
    0..N-1; N = 1 for a `one_step_fraction` of the rows, else uniform in 2..max_steps."""
    steps = torch.randint(2, max(max_steps, 2) + 1, (n,), generator=generator).to(torch.float32)
    steps = torch.where(torch.rand(n, generator=generator) < one_step_fraction, torch.ones_like(steps), steps)
    k = (torch.rand(n, generator=generator) * steps).floor().clamp(max=steps - 1)
    return k / steps, 1.0 / steps


def flow_map_loss(model: Callable[..., Tensor], x_t: Tensor, x_end: Tensor, t: Tensor, h: Tensor, **cond: Tensor) -> Tensor:
    """Mean over the batch of |u(x_t, t, h) - (x_end - x_t) / h|^2; x_t, x_end: (B, *D) the teacher's
    states at t and t + h on one path, t, h: (B,) with h > 0."""
    target = (x_end - x_t) / h.reshape(-1, *([1] * (x_t.dim() - 1)))
    return (model(x_t, t, h=h, **cond) - target).pow(2).flatten(1).sum(1).mean()


@torch.no_grad()  # forward mode only: the target is held out of the gradient
def mean_flow_target(model: Callable[..., Tensor], x: Tensor, t: Tensor, h: Tensor, v: Tensor, **cond: Tensor) -> Tensor:
    """v + h du/dt at x: (B, *D), t, h: (B,), with du/dt = v . grad_x u + du/dt - du/dh (one JVP)."""
    one = torch.ones_like(t)
    _, dudt = torch.func.jvp(lambda xx, tt, hh: model(xx, tt, h=hh, **cond), (x, t, h), (v, one, -one))
    return v + h.reshape(-1, *([1] * (x.dim() - 1))) * dudt


def mean_flow_loss(
    model: Callable[..., Tensor],
    path: AffinePath,
    x0: Tensor,
    x1: Tensor,
    t: Tensor,
    h: Tensor,
    *,
    weight_power: float = 0.0,
    tangent_model: Callable[..., Tensor] | None = None,
    **cond: Tensor,
) -> Tensor:
    """Mean over the batch of w |u_theta(x_t, t, h) - sg(v_t + h du/dt)|^2; x0, x1: (B, *D), t, h: (B,).

    The target is `mean_flow_target` with the conditional velocity v_t, computed only for rows
    with h > 0. w = sg(1 / (err + 1e-3)^weight_power) is MeanFlow's adaptive weight (0: plain
    squared error). tangent_model: the module the JVP differentiates (the plain module when
    `model` is a DDP wrapper; default `model`).
    """
    ps = path.sample(x0, x1, t)
    u = model(ps.x_t, t, h=h, **cond)
    target = ps.velocity
    wide = h > 0
    if bool(wide.any()):  # rows with h = 0 need no derivative: their target is v_t
        sub = {k: v[wide] for k, v in cond.items()}
        target = target.clone()
        target[wide] = mean_flow_target(tangent_model or model, ps.x_t[wide], t[wide], h[wide], ps.velocity[wide], **sub)
    err = (u - target.detach()).pow(2).flatten(1).sum(1)
    if weight_power:
        err = err / (err.detach() + 1e-3).pow(weight_power)
    return err.mean()


@dataclass(frozen=True)
class LossConfig:
    """How training times and labels are drawn for the loss, and what the network predicts."""

    time_sampling: str = option(
        "auto", "distribution of training times (auto: uniform for flow matching with --coupling ot, where one Euler step needs t = 0 trained; else logit-normal)", choices=("auto", *TIME_SAMPLING)
    )
    cond_drop: float = option(0.1, "label dropout to the null class, for classifier-free guidance", min=0.0, max=1.0, max_open=True)
    # one-step distillation (recipes.reflow): this fraction of each batch sits at t = 0, where
    # the target x1 - x0 = v(x0, 0) is what one Euler step needs
    distill_fraction: float = option(0.0, "fraction of each batch trained at t = 0 (one-step distillation)", min=0.0, max=1.0)
    # a student of guided paths samples at W in one pass, and its guidance can follow a schedule
    # (a limited interval) that a one-step sampler could not apply (recipes.reflow)
    distill_guidance: float = option(0.0, "flowmap: the largest guidance weight of the teacher's paths; > 0 makes the student take the weight as an input", min=0.0)
    target: str = option("velocity", "what the network predicts (the loss compares): velocity, x1 (the data) or epsilon (the source sample)", choices=TARGETS)
    objective: str = option(
        "fm",
        "fm: flow matching; meanflow: average velocities over intervals, for 1 to N steps (sample with --solver meanflow); flowmap: the same model distilled from a teacher's paths (--pairs with paths); discrete: a flow on tokens (the objective of token data, chosen for them)",
        choices=OBJECTIVES,
    )
    mean_flow_fraction: float = option(0.25, "meanflow: fraction of each batch trained on intervals (the rest is flow matching)", min=0.0, max=1.0)
    # 0: on moons the adaptive weight of the MeanFlow paper (p = 1) pulled even the h = 0 part off
    # the conditional mean (W2 0.73 at NFE 32 against 0.28 with p = 0; docs/benchmarks/index.md)
    mean_flow_weight_power: float = option(0.0, "meanflow: adaptive loss weight 1 / (err + 1e-3)^p (0: plain squared error)", min=0.0)

    def __post_init__(self):
        check_options(self)


def riemannian_fm_loss(model: Callable[..., Tensor], path: GeodesicPath, x0: Tensor, x1: Tensor, t: Tensor, weight: Tensor | None = None, **cond: Tensor) -> Tensor:
    """Riemannian flow matching on a manifold: the mean over the batch of |proju(x_t, v(x_t, t)) - u_t|^2_g,
    the metric's norm in the tangent space at x_t (pair weights if given); x0, x1: (B, n), t: (B,).

    Not the squared error of the coordinates: a normal component of the network's output (which
    no flow on the manifold can follow) is projected away rather than penalised."""
    m = path.manifold
    p = path.sample(x0, x1, t)
    diff = m.proju(p.x_t, model(p.x_t, t, **cond)) - p.velocity
    sq = m.inner(p.x_t, diff, diff)
    return (sq * weight).mean() if weight is not None else sq.mean()


__all__ = [
    "FLOW_MAP_MAX_STEPS",
    "OBJECTIVES",
    "LossConfig",
    "TIME_SAMPLING",
    "resolve_time_sampling",
    "flow_map_loss",
    "flow_matching_loss",
    "interval_model",
    "mean_flow_loss",
    "sample_grid_interval",
    "mean_flow_target",
    "riemannian_fm_loss",
    "sample_interval",
    "sample_time",
]
