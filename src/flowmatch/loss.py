"""The conditional flow-matching objective: training times, the loss, and their options.

The loss regresses v_theta(x_t, t) on the path's target alpha_t' x1 + sigma_t' x0, which has
the same gradient as regressing on the (unknown) marginal field.

Reference: Lipman et al., "Flow Matching for Generative Modeling" (2023).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from flowmatch.options import check_options, option
from flowmatch.paths import AffinePath

TIME_SAMPLING = ("uniform", "logit-normal")


def sample_time(n: int, kind: str, generator: torch.Generator) -> Tensor:
    """(n,) training times: uniform on [0, 1], or logit-normal sigmoid(N(0, 1))."""
    if kind == "uniform":
        return torch.rand(n, generator=generator)
    return torch.sigmoid(torch.randn(n, generator=generator))


def flow_matching_loss(model: Callable[..., Tensor], path: AffinePath, x0: Tensor, x1: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
    """Mean over the batch of |v_theta(x_t, t) - (alpha_t' x1 + sigma_t' x0)|^2; x0, x1: (B, *D), t: (B,)."""
    ps = path.sample(x0, x1, t)
    return (model(ps.x_t, t, **cond) - ps.velocity).pow(2).flatten(1).sum(1).mean()


@dataclass(frozen=True)
class LossConfig:
    """How training times and labels are drawn for the loss."""

    time_sampling: str = option("logit-normal", "distribution of training times (logit-normal: measured better at NFE 1-8, docs/benchmarks.md)", choices=TIME_SAMPLING)
    cond_drop: float = option(0.1, "label dropout to the null class, for classifier-free guidance", min=0.0, max=1.0, max_open=True)
    # one-step distillation (recipes.reflow): this fraction of each batch sits at t = 0, where
    # the target x1 - x0 = v(x0, 0) is what one Euler step needs
    distill_fraction: float = option(0.0, "fraction of each batch trained at t = 0 (one-step distillation)", min=0.0, max=1.0)

    def __post_init__(self):
        check_options(self)


__all__ = ["LossConfig", "TIME_SAMPLING", "flow_matching_loss", "sample_time"]
