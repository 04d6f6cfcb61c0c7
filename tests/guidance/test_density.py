"""Density (mode-seeking) guidance on a Gaussian mixture with a known density."""

from __future__ import annotations

import torch

from flowmatch.closed_form import gaussian_mixture_flow
from flowmatch.guidance import DensityGuidedVelocity
from flowmatch.likelihood import divergence_exact
from flowmatch.solvers import solve

MEANS = torch.tensor([[2.0, 0.0], [-1.0, 1.5], [-1.0, -1.5]], dtype=torch.float64)
STDS = torch.tensor([[0.3, 0.3], [0.5, 0.5], [0.4, 0.4]], dtype=torch.float64)
WEIGHTS = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)


def test_guided_velocity_adds_the_gradient_of_minus_the_divergence():
    v = gaussian_mixture_flow(MEANS, STDS, WEIGHTS).velocity
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    t = torch.full((6,), 0.4, dtype=torch.float64)

    # Finite differences of -div v, computed independently of the wrapper.
    def neg_div(p):
        p = p.clone().requires_grad_(True)
        with torch.enable_grad():
            return -divergence_exact(v(p, t), p).detach()

    h, fd = 1e-5, torch.zeros_like(x)
    for i in range(2):
        e = torch.zeros_like(x)
        e[:, i] = h
        fd[:, i] = (neg_div(x + e) - neg_div(x - e)) / (2 * h)
    lam = 0.7
    guided = DensityGuidedVelocity(v, lam, exact=True)
    assert torch.allclose(guided(x, t), v(x, t) + lam * fd, atol=1e-6)
    # Hutchinson: unbiased, so its average over many probes approaches the exact value.
    hut = DensityGuidedVelocity(v, lam, exact=False, probes=256, seed=1)
    assert torch.allclose(hut(x, t), guided(x, t), atol=0.05 * float(fd.abs().max()) + 1e-3)
    assert guided.cost()["calls"] == 2 and guided.cost()["vjps_per_call"] == 3.0


def test_mixture_field_is_the_marginal_field():
    # Its flow carries N(0, I) to the mixture: the log-likelihood it gives is the mixture's.
    from flowmatch.likelihood import log_likelihood

    flow = gaussian_mixture_flow(MEANS, STDS, WEIGHTS)
    x = flow.sample(200, torch.Generator().manual_seed(3))
    res = log_likelihood(flow.velocity, x, exact=True, method="dopri5", atol=1e-7, rtol=1e-7)
    assert (res.log_likelihood - flow.log_density(x)).abs().max() < 1e-3


def test_mean_true_log_density_rises_with_lambda():
    flow = gaussian_mixture_flow(MEANS, STDS, WEIGHTS)
    v, log_density = flow.velocity, flow.log_density
    x0 = torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    means = []
    for lam in (0.0, 0.05, 0.1, 0.2):
        field = DensityGuidedVelocity(v, lam, exact=True) if lam else v
        means.append(float(log_density(solve(field, x0, method="midpoint", steps=10).x).mean()))
    assert all(b > a for a, b in zip(means, means[1:])), means
    assert means[-1] - means[0] > 0.1, means
