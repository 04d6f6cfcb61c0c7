"""Sample distances on a manifold: the exact W2 with the geodesic cost, and an MMD with a geodesic kernel.

W2^2 = min over couplings of E d(x, y)^2 (POT's exact solver on the geodesic cost matrix);
MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y) with k(x, y) = exp(-d(x, y)^2 / (2 bandwidth^2))
(a Gaussian of the geodesic distance; the unbiased U-statistic).
"""

from __future__ import annotations

import math

import numpy as np
from torch import Tensor

from flowmatch.manifolds import Manifold


def geodesic_w2(manifold: Manifold, x: Tensor, y: Tensor) -> float:
    """Exact W2 between the empirical measures of x: (M, n) and y: (N, n) under the geodesic cost."""
    import ot

    cost = manifold.pairwise_dist(x.double(), y.double()).pow(2).cpu().numpy()
    return math.sqrt(max(float(ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)), cost)), 0.0))


def geodesic_mmd(manifold: Manifold, x: Tensor, y: Tensor, bandwidth: float = 0.5) -> float:
    """Unbiased MMD^2 between x: (M, n) and y: (N, n) with the kernel exp(-d^2 / (2 bandwidth^2))."""

    def k(a: Tensor, b: Tensor) -> Tensor:
        return (-manifold.pairwise_dist(a.double(), b.double()).pow(2) / (2 * bandwidth**2)).exp()

    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * k(x, y).mean())
