"""Likelihoods on manifolds against closed forms: volume-preserving flows, a latitude flow, the torus."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import manifold_log_likelihood, riemannian_divergence
from flowmatch.manifolds import FlatTorus, Sphere

S2 = Sphere(2)
EZ = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)


def rotation(x, t):
    """A rigid rotation about (1, 2, 2)/3: divergence-free, it carries the uniform density to itself."""
    axis = torch.tensor([1.0, 2.0, 2.0], dtype=x.dtype) / 3
    return 2.0 * torch.linalg.cross(axis.expand_as(x), x, dim=-1)


def latitude(x, t):
    """P_x e_z: dz/dt = 1 - z^2 (div = -2z)."""
    return S2.proju(x, EZ.expand_as(x))


def test_a_flow_from_the_uniform_to_itself_scores_log_4_pi():
    x = S2.random_base(200, torch.Generator().manual_seed(0), dtype=torch.float64)
    res = manifold_log_likelihood(S2, rotation, x, method="rk4", steps=20)
    assert res.nll == pytest.approx(math.log(4 * math.pi), abs=1e-10)
    assert res.nll == pytest.approx(2.531, abs=5e-4)
    assert float(S2.dist(res.x0, x).mean()) > 0.3  # the latents moved


def test_the_riemannian_divergence_of_the_latitude_field_is_minus_2z():
    x = S2.random_base(50, torch.Generator().manual_seed(1), dtype=torch.float64)
    _, div = riemannian_divergence(latitude, S2, x, torch.zeros(50, dtype=torch.float64))
    assert torch.allclose(div, -2 * x[:, 2], atol=1e-12)
    probes = torch.randn(4000, 50, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    _, est = riemannian_divergence(latitude, S2, x, torch.zeros(50, dtype=torch.float64), probes)
    assert torch.allclose(est, -2 * x[:, 2], atol=0.15)  # Hutchinson: unbiased, sd ~ 1/sqrt(4000) x O(1)


def _latitude_log_density(x1):
    """The uniform pushed by the latitude flow to t = 1: (1/4 pi)(1 - z0^2)/(1 - z1^2), z0 = tanh(atanh z1 - 1)."""
    z1 = x1[:, 2]
    z0 = torch.tanh(torch.atanh(z1) - 1)
    return -math.log(4 * math.pi) + torch.log1p(-(z0**2)) - torch.log1p(-(z1**2))


def test_latitude_flow_log_density_matches_its_closed_form():
    x = S2.random_base(100, torch.Generator().manual_seed(3), dtype=torch.float64)
    x = x[x[:, 2].abs() < 0.95]
    exact = manifold_log_likelihood(S2, latitude, x, method="rk4", steps=40)
    assert torch.allclose(exact.log_likelihood, _latitude_log_density(x), atol=1e-5)
    assert exact.nfe == 160
    hutch = manifold_log_likelihood(S2, latitude, x, method="rk4", steps=40, exact=False, probes=16, probe_kind="gaussian")
    assert float((hutch.log_likelihood - _latitude_log_density(x)).mean().abs()) < 0.05


def test_torus_log_density_matches_its_closed_form():
    torus = FlatTorus(2)
    x = torus.random_base(100, torch.Generator().manual_seed(4), dtype=torch.float64)
    res = manifold_log_likelihood(torus, lambda y, t: torch.sin(y), x, method="rk4", steps=40)
    x0 = 2 * torch.atan(torch.tan(x / 2) * math.exp(-1.0))  # d theta/dt = sin theta, backwards
    # p1 = p0 |d theta0 / d theta1| = (2 pi)^-2 prod sin(theta0) / sin(theta1)
    expected = -2 * math.log(2 * math.pi) + torch.log(torch.sin(x0) / torch.sin(x)).sum(-1)
    assert torch.allclose(res.log_likelihood, expected, atol=1e-5)


def test_wrong_shapes_and_solvers_are_refused():
    with pytest.raises(FlowmatchError, match=r"\(N, 3\)"):
        manifold_log_likelihood(S2, rotation, torch.zeros(4, 2))
    with pytest.raises(FlowmatchError, match="unknown manifold solver"):
        manifold_log_likelihood(S2, rotation, S2.random_base(4), method="dopri5")
