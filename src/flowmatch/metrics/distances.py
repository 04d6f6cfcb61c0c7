"""Distances between sample sets. x, y: (N, D) and (M, D) tensors or arrays.

Reference: Flamary et al., POT: Python Optimal Transport (2021), for the exact OT solver.
"""

from __future__ import annotations

import numpy as np
import torch


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def wasserstein2(x, y) -> float:
    """Exact W2 = sqrt(min_P sum_ij P_ij |x_i - y_j|^2) with uniform weights (POT's network simplex)."""
    import ot

    a, b = _np(x), _np(y)
    cost = ot.dist(a, b)  # squared Euclidean
    return float(np.sqrt(ot.emd2(np.full(len(a), 1 / len(a)), np.full(len(b), 1 / len(b)), cost, numItermax=10_000_000)))


def sliced_wasserstein2(x, y, n_projections: int = 200, seed: int = 0) -> float:
    """Sliced W2 = sqrt(E_theta W2^2(<theta, x>, <theta, y>)) over random unit directions (POT).

    Each 1D projection is 1-Lipschitz, so sliced W2 <= W2 for the same sample sets.
    """
    import ot

    a, b = _np(x), _np(y)
    return float(ot.sliced_wasserstein_distance(a, b, n_projections=n_projections, p=2, seed=seed))


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a, b).pow(2)


def mmd(x, y, bandwidths=None) -> float:
    """MMD with the kernel sum_h exp(-|a - b|^2 / (2 h^2)); the biased (V-statistic) estimate,
    so MMD(x, x) = 0 exactly. Returns sqrt(max(MMD^2, 0)).

    bandwidths: a sequence of h; default (0.25, 0.5, 1, 2, 4) times the median distance
    between the pooled points, so the kernel sees both fine and coarse structure.
    """
    a, b = torch.from_numpy(_np(x)), torch.from_numpy(_np(y))
    dxx, dyy, dxy = _sq_dists(a, a), _sq_dists(b, b), _sq_dists(a, b)
    if bandwidths is None:
        pooled = torch.cat([a, b])[:2000]
        med = torch.cdist(pooled, pooled).median().item()
        bandwidths = [f * max(med, 1e-12) for f in (0.25, 0.5, 1.0, 2.0, 4.0)]
    total = 0.0
    for h in bandwidths:
        k_xx, k_yy, k_xy = (torch.exp(-d / (2 * h * h)).mean() for d in (dxx, dyy, dxy))
        total += float(k_xx + k_yy - 2 * k_xy)
    return float(np.sqrt(max(total, 0.0)))


def energy_distance(x, y) -> float:
    """sqrt(2 E|X - Y| - E|X - X'| - E|Y - Y'|) with empirical (V-statistic) means.

    Zero for identical sets, positive otherwise; in 1D it equals scipy.stats.energy_distance.
    Reference: Székely and Rizzo, "Energy statistics" (2013).
    """
    a, b = torch.from_numpy(_np(x)), torch.from_numpy(_np(y))
    val = 2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean()
    return float(np.sqrt(max(float(val), 0.0)))


__all__ = ["energy_distance", "mmd", "sliced_wasserstein2", "wasserstein2"]
