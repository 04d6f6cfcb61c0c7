"""Euclidean space R^d as the trivial manifold: exp_x(u) = x + u, log_x(y) = y - x.

Not compact: its base distribution is the standard Gaussian (flow matching's usual source).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.base import Manifold


class Euclidean(Manifold):
    """R^d with the flat metric; the base distribution is N(0, I)."""

    name = "euclidean"
    compact = False
    flat = True

    def __init__(self, dim: int = 2):
        if int(dim) < 1:
            raise FlowmatchError(f"euclidean dimension must be >= 1, got {dim}")
        self.dim = self.ambient_dim = self.feature_dim = int(dim)

    def exp(self, x: Tensor, u: Tensor) -> Tensor:
        return x + u

    def log(self, x: Tensor, y: Tensor) -> Tensor:
        return y - x

    def geodesic(self, x: Tensor, u: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return x + s[:, None] * u, u

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        return torch.cdist(x, y)

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return u

    def projx(self, x: Tensor) -> Tensor:
        return x

    def random_base(self, n: int, generator: torch.Generator | None = None, dtype=None) -> Tensor:
        return torch.randn((n, self.dim), generator=generator, dtype=dtype)

    def base_log_density(self, x: Tensor) -> Tensor:
        return -0.5 * x.pow(2).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)

    def log_volume(self) -> float:
        raise FlowmatchError("Euclidean space has infinite volume: no uniform distribution")
