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
