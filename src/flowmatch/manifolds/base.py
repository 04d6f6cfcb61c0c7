"""The `Manifold` interface: what flows on a curved space need of it.

Points are stored in coordinates of shape (B, n) (`ambient_dim` n): the sphere S^d as unit
vectors of R^(d+1), the flat torus T^d as angles in [-pi, pi), Euclidean space as itself.
Tangent vectors at x are stored in the same coordinates, and the metric is the coordinates' dot
product (the sphere's induced metric, the torus's flat one), so `inner` is a plain sum.
The network sees `embed(x)` (features of size `feature_dim`, continuous on the manifold: the
torus's angles as cos and sin) and its output w in feature coordinates comes back to a tangent
vector at x by `to_tangent(x, w)` (the transpose of the embedding's Jacobian, then `proju`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class Manifold:
    """Interface of a Riemannian manifold; subclasses implement the maps below for x: (B, n)."""

    name: str = "manifold"
    dim: int  # intrinsic dimension d
    ambient_dim: int  # coordinates per point n
    feature_dim: int  # network input per point
    compact: bool = True
    flat: bool = False  # zero curvature: geodesics are straight lines in the coordinates

    # -- maps ------------------------------------------------------------------------------
    def exp(self, x: Tensor, u: Tensor) -> Tensor:
        """exp_x(u): (B, n), the end of the geodesic from x with initial velocity u."""
        raise NotImplementedError

    def log(self, x: Tensor, y: Tensor) -> Tensor:
        """log_x(y): (B, n), the tangent vector at x with exp_x(log_x(y)) = y (shortest geodesic)."""
        raise NotImplementedError

    def geodesic(self, x: Tensor, u: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """(exp_x(s u), d/ds exp_x(s u)): the geodesic's point and velocity at s: (B,)."""
        raise NotImplementedError

    def dist(self, x: Tensor, y: Tensor) -> Tensor:
        """(B,) geodesic distance d(x, y)."""
        return self.norm(x, self.log(x, y))

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        """(M, N) geodesic distances between the rows of x: (M, n) and y: (N, n)."""
        m, k = len(x), len(y)
        return self.dist(x[:, None].expand(m, k, -1).reshape(m * k, -1), y[None].expand(m, k, -1).reshape(m * k, -1)).reshape(m, k)

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        """(B, n): u projected orthogonally onto the tangent space at x."""
        raise NotImplementedError

    def projx(self, x: Tensor) -> Tensor:
        """(B, n): the nearest point of the manifold (the sphere's normalisation, the torus's wrap)."""
        raise NotImplementedError

    def inner(self, x: Tensor, u: Tensor, v: Tensor) -> Tensor:
        """(B,) metric <u, v>_x of tangent vectors at x."""
        return (u * v).sum(-1)

    def norm(self, x: Tensor, u: Tensor) -> Tensor:
        """(B,) |u|_x."""
        return self.inner(x, u, u).clamp_min(0).sqrt()

    def on_manifold(self, x: Tensor, atol: float = 1e-5) -> Tensor:
        """(B,) bool: x lies on the manifold to `atol`."""
        return (self.projx(x) - x).abs().amax(-1) <= atol

    # -- the network's view ----------------------------------------------------------------
    def embed(self, x: Tensor) -> Tensor:
        """(B, feature_dim) features of x that the velocity network takes."""
        return x

    def to_tangent(self, x: Tensor, w: Tensor) -> Tensor:
        """(B, n) tangent vector at x from a network output w: (B, feature_dim)."""
        return self.proju(x, w)

    # -- the base distribution ---------------------------------------------------------------
    def random_base(self, n: int, generator: torch.Generator | None = None, dtype=None) -> Tensor:
        """(n, ambient_dim) draws of the base (source) distribution: uniform on a compact manifold."""
        raise NotImplementedError

    def base_log_density(self, x: Tensor) -> Tensor:
        """(B,) log density of the base distribution w.r.t. the volume measure (uniform: -log volume)."""
        return torch.full(x.shape[:1], -self.log_volume(), dtype=x.dtype, device=x.device)

    def log_volume(self) -> float:
        """log of the manifold's total volume (compact manifolds)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


def sphere_log_volume(d: int) -> float:
    """log |S^d| = log(2 pi^((d+1)/2) / Gamma((d+1)/2)); |S^2| = 4 pi."""
    return math.log(2.0) + 0.5 * (d + 1) * math.log(math.pi) - math.lgamma(0.5 * (d + 1))
