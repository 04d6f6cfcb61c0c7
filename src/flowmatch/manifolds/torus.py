"""The flat torus T^d = (S^1)^d as angles in [-pi, pi): geodesics are straight lines, wrapped.

exp_x(u) = wrap(x + u); log_x(y) = wrap(y - x); the network sees (cos x, sin x), and its output
w = (w_cos, w_sin) comes back as the angle velocity -sin(x) w_cos + cos(x) w_sin (the
embedding's Jacobian transposed: the projection onto the tangent of the embedded torus).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.base import Manifold


def wrap(a: Tensor) -> Tensor:
    """Angles into [-pi, pi)."""
    return torch.remainder(a + math.pi, 2 * math.pi) - math.pi


class FlatTorus(Manifold):
    """T^d with the flat metric, volume (2 pi)^d; the base distribution is uniform."""

    name = "torus"
    flat = True

    def __init__(self, dim: int = 2):
        if int(dim) < 1:
            raise FlowmatchError(f"torus dimension must be >= 1, got {dim}")
        self.dim = self.ambient_dim = int(dim)
        self.feature_dim = 2 * self.dim

    def exp(self, x: Tensor, u: Tensor) -> Tensor:
        return wrap(x + u)

    def log(self, x: Tensor, y: Tensor) -> Tensor:
        return wrap(y - x)

    def geodesic(self, x: Tensor, u: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return wrap(x + s[:, None] * u), u

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        return wrap(y[None] - x[:, None]).pow(2).sum(-1).sqrt()

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return u

    def projx(self, x: Tensor) -> Tensor:
        return wrap(x)

    def on_manifold(self, x: Tensor, atol: float = 1e-5) -> Tensor:
        return ((x >= -math.pi - atol) & (x < math.pi + atol)).all(-1)

    def embed(self, x: Tensor) -> Tensor:
        return torch.cat([torch.cos(x), torch.sin(x)], dim=-1)

    def to_tangent(self, x: Tensor, w: Tensor) -> Tensor:
        d = self.dim
        return -torch.sin(x) * w[..., :d] + torch.cos(x) * w[..., d:]

    def random_base(self, n: int, generator: torch.Generator | None = None, dtype=None) -> Tensor:
        return (2 * torch.rand((n, self.dim), generator=generator, dtype=dtype) - 1) * math.pi

    def log_volume(self) -> float:
        return self.dim * math.log(2 * math.pi)
