"""Exact marginal velocity fields for Gaussian-mixture data, for checks and demonstrations.

For the conditional-OT path with sigma_min = 0 from the source N(0, I), x_t = t x1 + (1 - t) x0.
Given data component k, N(m_k, diag(s_k^2)), each coordinate of x_t is N(t m, v_t) with
v_t = (t s)^2 + (1 - t)^2 and Cov(x1 - x0, x_t) = t s^2 - (1 - t), so the component's field is

    u_t^k(x) = E[x1 - x0 | x_t = x, k] = m + (t s^2 - (1 - t)) / v_t (x - t m),

and the marginal field weights the components by their posterior given x_t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


@dataclass(frozen=True)
class ClosedFormFlow:
    """velocity(x, t): x (B, D), t (B,) -> (B, D); log_density(x): (B,) log p1; sample(n, g): (n, D)."""

    velocity: Callable[[Tensor, Tensor], Tensor]
    log_density: Callable[[Tensor], Tensor]
    sample: Callable[[int, torch.Generator], Tensor]


def gaussian_mixture_flow(means: Tensor, stds: Tensor, weights: Tensor) -> ClosedFormFlow:
    """means, stds: (K, D) (diagonal components), weights: (K,) summing to 1."""

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        tt, xx = t[:, None, None], x[:, None, :]
        var = (tt * stds) ** 2 + (1 - tt) ** 2
        uk = means + (tt * stds**2 - (1 - tt)) / var * (xx - tt * means)
        logw = torch.log(weights) + (-0.5 * (xx - tt * means) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)).sum(-1)
        return (torch.softmax(logw, 1)[..., None] * uk).sum(1)

    def log_density(x: Tensor) -> Tensor:
        xx = x[:, None, :]
        comp = (-0.5 * (xx - means) ** 2 / stds**2 - 0.5 * torch.log(2 * math.pi * stds**2)).sum(-1)
        return torch.logsumexp(torch.log(weights) + comp, 1)

    def sample(n: int, generator: torch.Generator) -> Tensor:
        k = torch.multinomial(weights, n, replacement=True, generator=generator)
        z = torch.randn(n, means.shape[1], generator=generator, dtype=means.dtype)
        return means[k] + stds[k] * z

    return ClosedFormFlow(velocity, log_density, sample)


__all__ = ["ClosedFormFlow", "gaussian_mixture_flow"]
