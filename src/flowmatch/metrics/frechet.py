"""The Fréchet distance: W2^2 between Gaussians fitted to two feature sets (the FID formula).

    d^2 = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

Reference: Heusel et al. (2017), GANs trained by a two time-scale update rule (FID).
"""

from __future__ import annotations

import warnings

import numpy as np
from torch import Tensor

from flowmatch.errors import FlowmatchError


def _array(x) -> np.ndarray:
    return np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=np.float64)


def gaussian_frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """d^2 above for N(mu1, sigma1) and N(mu2, sigma2); mu: (F,), sigma: (F, F)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(_array(mu1)), np.atleast_1d(_array(mu2))
    s1, s2 = np.atleast_2d(_array(sigma1)), np.atleast_2d(_array(sigma2))
    with warnings.catch_warnings():  # a singular product is handled below, not reported
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():  # a near-singular product: regularise, as is customary
            eps = 1e-6 * np.eye(len(s1))
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.real(covmean)))


def frechet_distance(f1: Tensor | np.ndarray, f2: Tensor | np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to feature sets f1: (N1, F) and f2: (N2, F)."""
    a, b = _array(f1), _array(f2)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise FlowmatchError(f"frechet_distance needs two (N, F) feature sets with N >= 2, got {a.shape} and {b.shape}")
    return gaussian_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


__all__ = ["frechet_distance", "gaussian_frechet_distance"]
