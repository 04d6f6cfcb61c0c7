"""Geodesic conditional paths x_t = exp_{x0}(kappa(t) log_{x0}(x1)) and their velocities.

kappa is the `alpha_t` of any schedule with alpha_0 = 0 and alpha_1 = 1 (condot: kappa = t;
cosine, polynomial). The conditional velocity is the geodesic's derivative, in closed form:
u_t = kappa'(t) (d/ds) exp_{x0}(s log_{x0}(x1)) at s = kappa(t), a tangent vector at x_t.
On Euclidean space this is the condot path x_t = (1 - t) x0 + t x1.

Reference: Chen and Lipman, "Flow Matching on General Geometries" (ICLR 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import Manifold
from flowmatch.paths.affine import PathSample
from flowmatch.paths.schedules import Schedule


@dataclass(frozen=True)
class GeodesicPath:
    """The geodesic path on `manifold` with kappa(t) = schedule's alpha_t."""

    manifold: Manifold
    schedule: Schedule

    def __post_init__(self):
        ends = self.schedule(torch.tensor([0.0, 1.0], dtype=torch.float64)).alpha
        if abs(float(ends[0])) > 1e-6 or abs(float(ends[1]) - 1) > 1e-6:
            raise FlowmatchError(
                f"a geodesic path needs a schedule with alpha_0 = 0 and alpha_1 = 1 (condot, cosine, polynomial); {type(self.schedule).__name__} has {float(ends[0]):.3g} and {float(ends[1]):.3g}"
            )

    def sample(self, x0: Tensor, x1: Tensor, t: Tensor) -> PathSample:
        """x0, x1: (B, n) points, t: (B,) -> x_t and the conditional velocity u_t: (B, n)."""
        v = self.schedule(t.to(x0.dtype))
        u = self.manifold.log(x0, x1)
        x_t, dx = self.manifold.geodesic(x0, u, v.alpha)
        return PathSample(t, x0, x1, x_t, v.d_alpha[:, None] * dx)
