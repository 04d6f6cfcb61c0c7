"""The conditional flow-matching objective: training times, the loss, and their options.

The loss regresses the network on the path's target for each pair (x0, x1): by default the
velocity alpha_t' x1 + sigma_t' x0, which has the same gradient as regressing on the (unknown)
marginal field; with `target` x1 or epsilon, the network predicts the data x1 or the source
sample x0 and the loss is the squared error of that prediction (`flowmatch.paths.targets`
converts it to a velocity for sampling). On the Brownian bridge the network is a velocity and a
score (`VelocityAndScore`); the score's loss is |s_t score + eps|^2 with s_t the bridge's
standard deviation (the score of N(mu_t, s_t^2) is -eps / s_t, weighted by s_t^2 so that it stays
finite at the ends). Pairs may carry weights (unbalanced and partial OT): the loss is then the
mean of weight x squared error.

References: Lipman et al., "Flow Matching for Generative Modeling" (2023); Tong et al.,
"Simulation-free Schrödinger bridges via score and flow matching" (2024).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from flowmatch.options import check_options, option
from flowmatch.paths import TARGETS, AffinePath, BridgePath, regression_target
from flowmatch.paths.affine import _expand

TIME_SAMPLING = ("uniform", "logit-normal")


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


@dataclass(frozen=True)
class LossConfig:
    """How training times and labels are drawn for the loss, and what the network predicts."""

    time_sampling: str = option("logit-normal", "distribution of training times (logit-normal: measured better at NFE 1-8, docs/benchmarks.md)", choices=TIME_SAMPLING)
    cond_drop: float = option(0.1, "label dropout to the null class, for classifier-free guidance", min=0.0, max=1.0, max_open=True)
    # one-step distillation (recipes.reflow): this fraction of each batch sits at t = 0, where
    # the target x1 - x0 = v(x0, 0) is what one Euler step needs
    distill_fraction: float = option(0.0, "fraction of each batch trained at t = 0 (one-step distillation)", min=0.0, max=1.0)
    target: str = option("velocity", "what the network predicts (the loss compares): velocity, x1 (the data) or epsilon (the source sample)", choices=TARGETS)

    def __post_init__(self):
        check_options(self)


__all__ = ["LossConfig", "TIME_SAMPLING", "flow_matching_loss", "sample_time"]
