"""The Brownian-bridge path of Schrödinger-bridge flow matching, with its conditional velocity and score.

Given a pair (x0, x1) and noise sigma, the path is the Brownian bridge pinned at both ends:

    x_t = mu_t + s_t eps,   mu_t = (1 - t) x0 + t x1,   s_t = sigma sqrt(t (1 - t)),   eps ~ N(0, I),

so p_t(x | x0, x1) = N(mu_t, s_t^2 I). Its conditional field and score are

    u_t(x | x0, x1) = (1 - 2t) / (2 t (1 - t)) (x - mu_t) + (x1 - x0)
                    = (x1 - x0) + sigma (1 - 2t) / (2 sqrt(t (1 - t))) eps,
    grad_x log p_t(x | x0, x1) = -(x - mu_t) / s_t^2 = -eps / s_t.

Paired by the entropic OT plan with regularisation 2 sigma^2, the bridges' marginals are those of
the Schrödinger bridge between p0 and p1 with reference process sigma W. The marginal velocity v
gives the probability-flow ODE; with the marginal score s, dx = (v + g^2/2 s) dt + g dW has the same
marginals for any g, and g = sigma is the bridge's own SDE.

Reference: Tong et al., "Simulation-free Schrödinger bridges via score and flow matching" (2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.paths.affine import PathSample, _expand

T_EPS = 1e-5  # the coefficients 1/sqrt(t (1 - t)) are evaluated at t clamped to [T_EPS, 1 - T_EPS]


@dataclass(frozen=True)
class BridgePath:
    """Brownian bridge between x0 and x1 with noise `sigma`: mean (1 - t) x0 + t x1, std sigma sqrt(t (1 - t))."""

    sigma: float = 0.5

    def __post_init__(self):
        if not self.sigma > 0:
            raise FlowmatchError(f"bridge sigma must be > 0, got {self.sigma}")

    @property
    def source_scale(self) -> float:
        """The standard deviation of the Gaussian source N(0, I) a one-sided bridge run starts from."""
        return 1.0

    def mean(self, x0: Tensor, x1: Tensor, t: Tensor) -> Tensor:
        """mu_t = (1 - t) x0 + t x1; x0, x1: (B, *D), t: (B,)."""
        tt = _expand(t, x1)
        return (1 - tt) * x0 + tt * x1

    def std(self, t: Tensor) -> Tensor:
        """s_t = sigma sqrt(t (1 - t)), of the shape of t."""
        return self.sigma * torch.sqrt((t * (1 - t)).clamp_min(0))

    def sample(self, x0: Tensor, x1: Tensor, t: Tensor, noise: Tensor) -> PathSample:
        """Training pair: x_t = mu_t + s_t noise, the target velocity, and the conditional score."""
        tc = _expand(t.clamp(T_EPS, 1 - T_EPS), x1)
        root = torch.sqrt(tc * (1 - tc))
        x_t = self.mean(x0, x1, t) + _expand(self.std(t), x1) * noise
        velocity = (x1 - x0) + self.sigma * (1 - 2 * tc) / (2 * root) * noise
        return PathSample(t, x0, x1, x_t, velocity, noise=noise, score=-noise / (self.sigma * root))

    def conditional_velocity(self, x: Tensor, x0: Tensor, x1: Tensor, t: Tensor) -> Tensor:
        """u_t(x | x0, x1) = (1 - 2t) / (2 t (1 - t)) (x - mu_t) + (x1 - x0)."""
        tc = _expand(t.clamp(T_EPS, 1 - T_EPS), x)
        return (1 - 2 * tc) / (2 * tc * (1 - tc)) * (x - self.mean(x0, x1, t)) + (x1 - x0)

    def conditional_score(self, x: Tensor, x0: Tensor, x1: Tensor, t: Tensor) -> Tensor:
        """grad_x log N(x; mu_t, s_t^2 I) = -(x - mu_t) / s_t^2."""
        s = _expand(self.std(t.clamp(T_EPS, 1 - T_EPS)), x)
        return -(x - self.mean(x0, x1, t)) / s**2
