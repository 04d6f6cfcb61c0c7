"""The Riemannian conditional flow matching loss: E |v(x_t, t) - u_t|^2_g in the tangent space at x_t.

The metric's norm, not the plain squared error of coordinates: on the torus the network's output
is mapped to angle velocities first, and on any manifold a normal component of the output (which
no flow on the manifold can follow) is projected away rather than penalised.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor

from flowmatch.manifolds.paths import GeodesicPath


def riemannian_fm_loss(model: Callable[..., Tensor], path: GeodesicPath, x0: Tensor, x1: Tensor, t: Tensor, weight: Tensor | None = None, **cond: Tensor) -> Tensor:
    """Mean over the batch of |proju(x_t, v(x_t, t)) - u_t|^2 at x_t (pair weights if given); x0, x1: (B, n), t: (B,)."""
    m = path.manifold
    p = path.sample(x0, x1, t)
    diff = m.proju(p.x_t, model(p.x_t, t, **cond)) - p.velocity
    sq = m.inner(p.x_t, diff, diff)
    return (sq * weight).mean() if weight is not None else sq.mean()
