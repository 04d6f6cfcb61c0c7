"""Distances between sample sets. x, y: (N, D) and (M, D) tensors or arrays.

Reference: Flamary et al., POT: Python Optimal Transport (2021), for the exact OT solver.
"""

from __future__ import annotations

from pathlib import Path

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
        k = lambda d: torch.exp(-d / (2 * h * h)).mean()  # noqa: E731 - one kernel per bandwidth
        total += float(k(dxx) + k(dyy) - 2 * k(dxy))
    return float(np.sqrt(max(total, 0.0)))


def energy_distance(x, y) -> float:
    """sqrt(2 E|X - Y| - E|X - X'| - E|Y - Y'|) with empirical (V-statistic) means.

    Zero for identical sets, positive otherwise; in 1D it equals scipy.stats.energy_distance.
    Reference: Székely and Rizzo, "Energy statistics" (2013).
    """
    a, b = torch.from_numpy(_np(x)), torch.from_numpy(_np(y))
    val = 2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean()
    return float(np.sqrt(max(float(val), 0.0)))


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)): the W2^2 between two Gaussians.

    The FID formula; use `frechet_distance_features` on feature arrays (e.g. the MNIST
    classifier's features, or Inception pool features).
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # a singular product: nudge both covariances
        eps = 1e-6 * np.eye(len(s1))
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def frechet_distance_features(f1, f2) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets (N, F) and (M, F)."""
    a, b = _np(f1), _np(f2)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def inception_fid(fake_dir: str, real_dir: str) -> float:
    """Inception FID between two folders of images through torch-fidelity, only when it and its
    weights are already installed; nothing is downloaded. Raises FlowmatchError otherwise."""
    from flowmatch.errors import FlowmatchError

    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise FlowmatchError("Inception FID needs torch-fidelity with its Inception weights installed locally (pip install torch-fidelity, then cache the weights); it is not installed") from None
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if not any(hub.glob("*inception*")):
        raise FlowmatchError(f"Inception FID needs the Inception weights in {hub}; none found and nothing is downloaded")
    metrics = torch_fidelity.calculate_metrics(input1=fake_dir, input2=real_dir, fid=True, cuda=torch.cuda.is_available(), verbose=False)
    return float(metrics["frechet_inception_distance"])
