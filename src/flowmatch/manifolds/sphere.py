"""The unit sphere S^d embedded in R^(d+1): geodesics are great circles.

exp_x(u) = cos|u| x + sin|u| u/|u|;  log_x(y) = theta v/|v| with v = y - <x, y> x,
theta = atan2(|v|, <x, y>) (accurate at small and large angles); d(x, y) = theta.
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.base import Manifold, sphere_log_volume

_EPS = 1e-12


def _sinc_ratio(r: Tensor) -> Tensor:
    """sin(r)/r, 1 at r = 0."""
    small = r < 1e-4
    safe = torch.where(small, torch.ones_like(r), r)
    return torch.where(small, 1 - r * r / 6, torch.sin(safe) / safe)


class Sphere(Manifold):
    """S^d (d >= 1) as unit vectors of R^(d+1); the base distribution is uniform."""

    name = "sphere"

    def __init__(self, dim: int = 2):
        if int(dim) < 1:
            raise FlowmatchError(f"sphere dimension must be >= 1, got {dim}")
        self.dim = int(dim)
        self.ambient_dim = self.feature_dim = self.dim + 1

    def exp(self, x: Tensor, u: Tensor) -> Tensor:
        r = u.norm(dim=-1, keepdim=True)
        return self.projx(torch.cos(r) * x + _sinc_ratio(r) * u)

    def log(self, x: Tensor, y: Tensor) -> Tensor:
        c = (x * y).sum(-1, keepdim=True)
        v = y - c * x
        s = v.norm(dim=-1, keepdim=True)
        theta = torch.atan2(s, c)
        return torch.where(s > _EPS, theta / s.clamp_min(_EPS), torch.ones_like(s)) * v

    def geodesic(self, x: Tensor, u: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        r = u.norm(dim=-1, keepdim=True)
        sr = s[:, None] * r
        point = self.projx(torch.cos(sr) * x + s[:, None] * _sinc_ratio(sr) * u)
        velocity = -r * torch.sin(sr) * x + torch.cos(sr) * u
        return point, velocity

    def dist(self, x: Tensor, y: Tensor) -> Tensor:
        c = (x * y).sum(-1)
        s = (y - c[..., None] * x).norm(dim=-1)
        return torch.atan2(s, c)

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        return torch.arccos((x @ y.T).clamp(-1.0, 1.0))

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return u - (x * u).sum(-1, keepdim=True) * x

    def projx(self, x: Tensor) -> Tensor:
        return x / x.norm(dim=-1, keepdim=True).clamp_min(_EPS)

    def on_manifold(self, x: Tensor, atol: float = 1e-5) -> Tensor:
        return (x.norm(dim=-1) - 1).abs() <= atol

    def random_base(self, n: int, generator: torch.Generator | None = None, dtype=None) -> Tensor:
        return self.projx(torch.randn((n, self.ambient_dim), generator=generator, dtype=dtype))

    def log_volume(self) -> float:
        return sphere_log_volume(self.dim)
