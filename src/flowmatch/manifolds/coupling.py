"""Minibatch optimal transport on a manifold: the permutation minimising sum_i d(x0_i, x1_pi(i))^2.

The cost is the squared geodesic distance; the assignment is scipy's exact solver (POT's network
simplex above 128 points, as `flowmatch.couplings` measured faster there).
Reference: Chen and Lipman (2024), Section 3 (OT couplings with the geodesic cost).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from flowmatch.manifolds.base import Manifold


def geodesic_ot_permutation(manifold: Manifold, x0: Tensor, x1: Tensor) -> Tensor:
    """(B,) index pi with x1[pi] the exact-OT partner of each x0 under the cost d(x0_i, x1_j)^2."""
    cost = manifold.pairwise_dist(x0.detach().double(), x1.detach().double()).pow(2).cpu().numpy()
    m = len(cost)
    if m <= 128:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        perm = np.empty(m, dtype=np.int64)
        perm[rows] = cols
    else:
        import ot

        perm = ot.emd(np.full(m, 1.0 / m), np.full(m, 1.0 / m), cost, check_marginals=False).argmax(axis=1)
    return torch.from_numpy(perm).to(x1.device)
