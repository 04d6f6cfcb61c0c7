"""Products M_1 x ... x M_k: coordinates side by side, every map factor by factor.

The metric is the sum of the factors' (d^2 = sum d_i^2), the volume the product of theirs, the
base distribution the product of theirs (a Euclidean factor keeps its Gaussian).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.base import Manifold


class Product(Manifold):
    """The product of `factors`; a point is the concatenation of the factors' coordinates."""

    name = "product"

    def __init__(self, factors: Sequence[Manifold]):
        if not factors:
            raise FlowmatchError("a product manifold needs at least one factor")
        self.factors = tuple(factors)
        self.dim = sum(f.dim for f in self.factors)
        self.ambient_dim = sum(f.ambient_dim for f in self.factors)
        self.feature_dim = sum(f.feature_dim for f in self.factors)
        self.compact = all(f.compact for f in self.factors)
        self.flat = all(f.flat for f in self.factors)
        self.name = " x ".join(f.name for f in self.factors)

    def _split(self, x: Tensor, feature: bool = False) -> tuple[Tensor, ...]:
        sizes = [f.feature_dim if feature else f.ambient_dim for f in self.factors]
        return torch.split(x, sizes, dim=-1)

    def _map(self, fn: Callable[..., Tensor], *tensors: Tensor, feature_last: bool = False) -> Tensor:
        parts = [self._split(t, feature=feature_last and i == len(tensors) - 1) for i, t in enumerate(tensors)]
        return torch.cat([fn(f, *args) for f, *args in zip(self.factors, *parts)], dim=-1)

    def exp(self, x: Tensor, u: Tensor) -> Tensor:
        return self._map(lambda f, a, b: f.exp(a, b), x, u)

    def log(self, x: Tensor, y: Tensor) -> Tensor:
        return self._map(lambda f, a, b: f.log(a, b), x, y)

    def geodesic(self, x: Tensor, u: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        out = [f.geodesic(a, b, s) for f, a, b in zip(self.factors, self._split(x), self._split(u))]
        return torch.cat([p for p, _ in out], -1), torch.cat([v for _, v in out], -1)

    def dist(self, x: Tensor, y: Tensor) -> Tensor:
        return torch.stack([f.dist(a, b).pow(2) for f, a, b in zip(self.factors, self._split(x), self._split(y))]).sum(0).sqrt()

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        return torch.stack([f.pairwise_dist(a, b).pow(2) for f, a, b in zip(self.factors, self._split(x), self._split(y))]).sum(0).sqrt()

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return self._map(lambda f, a, b: f.proju(a, b), x, u)

    def projx(self, x: Tensor) -> Tensor:
        return self._map(lambda f, a: f.projx(a), x)

    def on_manifold(self, x: Tensor, atol: float = 1e-5) -> Tensor:
        return torch.stack([f.on_manifold(a, atol) for f, a in zip(self.factors, self._split(x))]).all(0)

    def embed(self, x: Tensor) -> Tensor:
        return self._map(lambda f, a: f.embed(a), x)

    def to_tangent(self, x: Tensor, w: Tensor) -> Tensor:
        return self._map(lambda f, a, b: f.to_tangent(a, b), x, w, feature_last=True)

    def random_base(self, n: int, generator: torch.Generator | None = None, dtype=None) -> Tensor:
        return torch.cat([f.random_base(n, generator, dtype) for f in self.factors], dim=-1)

    def base_log_density(self, x: Tensor) -> Tensor:
        return torch.stack([f.base_log_density(a) for f, a in zip(self.factors, self._split(x))]).sum(0)

    def log_volume(self) -> float:
        return sum(f.log_volume() for f in self.factors)

    def __repr__(self) -> str:
        return f"Product({', '.join(map(repr, self.factors))})"
