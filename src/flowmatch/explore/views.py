"""The numbers behind each picture of the explorer, computed by the toolkit's own library code.

Every function takes the flow's velocity v(x, t) (x: (B, 2), t: (B,)) and plain tensors, and
returns tensors; nothing here knows about sessions, browsers or bytes. Samples and
trajectories come from `flowmatch.solvers.solve`, W2 from `flowmatch.metrics.wasserstein2`,
log-densities from `flowmatch.likelihood.log_likelihood`, density guidance from
`flowmatch.guidance.DensityGuidedVelocity`, conditional paths from `flowmatch.paths` and the
coupling lines from `flowmatch.couplings`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor

from flowmatch.couplings import Coupling
from flowmatch.guidance import DensityGuidedVelocity
from flowmatch.likelihood import log_likelihood
from flowmatch.metrics import wasserstein2
from flowmatch.paths import AffinePath
from flowmatch.solvers import SampleResult, solve

# the couplings the page teaches with (the weighted and bridge couplings need options it does not show)
PAGE_COUPLINGS = ("independent", "ot", "sinkhorn")

Velocity = Callable[..., Tensor]


def extent_of(*clouds: Tensor, floor: float = 2.5) -> float:
    """Half-width of the square the page draws: the 99.5th percentile of |coordinate| over the
    clouds (N, 2) plus a 10% margin, and at least `floor`."""
    coords = torch.cat([c.abs().flatten() for c in clouds])
    return max(floor, 1.1 * float(torch.quantile(coords[:100_000], 0.995)))


def guided(velocity: Velocity, scale: float) -> Velocity:
    """v, or v + scale * grad(-div v) (density guidance, exact divergence in 2D) when scale > 0."""
    return DensityGuidedVelocity(velocity, scale) if scale > 0 else velocity


def sample(velocity: Velocity, x0: Tensor, solver: str, steps: int, guidance: float = 0.0) -> SampleResult:
    """Solve from x0: (N, 2) at t = 0 to t = 1; the trajectory (steps + 1, N, 2) on the solver's grid."""
    with torch.no_grad():
        return solve(guided(velocity, guidance), x0, method=solver, steps=steps, trajectory=True)


def grid_points(extent: float, size: int) -> Tensor:
    """(size * size, 2) points of a square grid over [-extent, extent]^2, row by row from the top
    (y decreasing), x increasing within a row: the order a canvas is painted in."""
    xs = torch.linspace(-extent, extent, size)
    ys = torch.linspace(extent, -extent, size)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1).reshape(-1, 2)


def field(velocity: Velocity, t: float, extent: float, size: int) -> Tensor:
    """(size * size, 2) velocities v(x, t) at `grid_points(extent, size)`."""
    x = grid_points(extent, size)
    with torch.no_grad():
        return velocity(x, torch.full((len(x),), float(t)))


def log_density(velocity: Velocity, t: float, extent: float, size: int, source_scale: float) -> Tensor:
    """(size, size) log p_t on `grid_points(extent, size)`, by the toolkit's likelihood code.

    `log_likelihood` integrates the flow from 1 back to 0; the flow of v over [0, t] is the
    flow of the time-rescaled field w(x, s) = t v(x, s t) over s in [0, 1], whose divergence
    integral is the same, so log p_t(x) = log_likelihood(w, x) (at t = 0, w = 0: the source).
    Exact divergence (2D), midpoint with 8 steps: good enough to see, cheap enough to redraw.
    """
    x = grid_points(extent, size)
    t = float(t)

    def rescaled(y: Tensor, s: Tensor) -> Tensor:
        return t * velocity(y, s * t)

    res = log_likelihood(rescaled, x, source_scale=source_scale, exact=True, method="midpoint", steps=8)
    return res.log_likelihood.reshape(size, size)


def w2(x: Tensor, ref: Tensor) -> float:
    """Exact W2 between the samples x: (N, 2) and the reference points ref: (M, 2)."""
    return wasserstein2(x, ref)


def segment_crossings(a: Tensor, b: Tensor) -> int:
    """How many pairs of the segments a_i -> b_i (a, b: (B, 2)) properly cross each other."""
    a, b = a.double().numpy(), b.double().numpy()

    def orient(p, q, r):  # sign of the turn p -> q -> r, for every pair (i, j): (B, B)
        return np.sign((q[:, None, 0] - p[:, None, 0]) * (r[None, :, 1] - p[:, None, 1]) - (q[:, None, 1] - p[:, None, 1]) * (r[None, :, 0] - p[:, None, 0]))

    # segment i crosses segment j when the ends of j lie on both sides of i, and vice versa
    d1, d2 = orient(a, b, a), orient(a, b, b)
    straddle = d1 * d2 < 0
    crossed = straddle & straddle.T
    return int(np.triu(crossed, 1).sum())


def coupling_lines(x0: Tensor, x1: Tensor, generator_seed: int = 0) -> dict[str, tuple[Tensor, int]]:
    """For each coupling of the toolkit: x1 reordered as its partners of x0 within this one
    batch, (B, 2), and how many of the lines x0_i -> partner_i cross."""
    out = {}
    for kind in PAGE_COUPLINGS:
        idx = Coupling(kind).pair(x0, x1, torch.Generator().manual_seed(generator_seed))
        partners = x1[idx]
        out[kind] = (partners, segment_crossings(x0, partners))
    return out


def conditional_paths(path: AffinePath, x0: Tensor, x1: Tensor, times: Tensor) -> Tensor:
    """(T, B, 2) points x_t = alpha_t x1 + sigma_t x0 of each pair's conditional path at `times`."""
    return torch.stack([path.sample(x0, x1, torch.full((len(x0),), float(t))).x_t for t in times])


__all__ = ["conditional_paths", "coupling_lines", "extent_of", "field", "grid_points", "guided", "log_density", "sample", "segment_crossings", "w2"]
