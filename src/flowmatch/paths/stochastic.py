"""Stochastic samplers' coefficients: SDEs with the same marginals p_t as a run's ODE.

For any diffusion g_t, dx = (v + g_t^2 / 2 grad log p_t) dt + g_t dW has the marginals of dx = v dt
(the Fokker–Planck equation of the SDE is the continuity equation of the ODE).

- Gaussian (affine) paths from N(0, s^2 I): the score follows from the velocity in closed form,
  grad log p_t = -E[x0 | x_t] / (sigma_t s^2) (`AffinePath.velocity_to_score`). We take
  g_t = sqrt(2) eta sigma_t s, so that the Langevin part relaxes at the rate eta^2 at every t
  (noise scale eta; 0 gives the ODE back) and vanishes where sigma_t does (the data end);
  the drift is then v - eta^2 sigma_t E[x0 | x_t].
- The Brownian bridge: velocity and score come from the run's two networks
  (`VelocityAndScore`, called with joint=True), and g = eta sigma (eta = 1: the bridge's own SDE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.paths.affine import AffinePath
from flowmatch.paths.bridge import BridgePath


@dataclass(frozen=True)
class SDEFields:
    """drift(x, t, **cond) -> (B, *D) with t: (B,); diffusion(t) -> g_t for a scalar time."""

    drift: Callable[..., Tensor]
    diffusion: Callable[[float], float]


def _check(noise_scale: float) -> float:
    if not (math.isfinite(noise_scale) and noise_scale >= 0):
        raise FlowmatchError(f"noise scale must be a finite number >= 0, got {noise_scale}")
    return float(noise_scale)


def gaussian_path_sde(path: AffinePath, velocity: Callable[..., Tensor], noise_scale: float = 1.0, source_scale: float = 1.0) -> SDEFields:
    """The SDE with the marginals of dx = velocity dt on an affine path from N(0, source_scale^2 I)."""
    eta = _check(noise_scale)

    def drift(x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        v = velocity(x, t, **cond)
        if eta == 0:
            return v
        sigma = path.values(t, x).sigma
        return v - eta**2 * sigma * path.velocity_to_x0(v, x, t)

    def diffusion(t: float) -> float:
        sigma = float(path.schedule(torch.tensor([t], dtype=torch.float64)).sigma[0])
        return math.sqrt(2.0) * eta * sigma * source_scale

    return SDEFields(drift, diffusion)


def bridge_sde(path: BridgePath, model: Callable[..., Tensor], noise_scale: float = 1.0) -> SDEFields:
    """dx = (v + g^2/2 s) dt + g dW with g = noise_scale * sigma; model(x, t, joint=True) -> (B, 2, *D)."""
    eta = _check(noise_scale)
    g = eta * path.sigma

    def drift(x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        out = model(x, t, joint=True, **cond)
        return out[:, 0] + 0.5 * g**2 * out[:, 1]

    return SDEFields(drift, lambda _t: g)
