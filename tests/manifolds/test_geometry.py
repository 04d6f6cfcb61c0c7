"""Manifold maps against closed forms: exp(log) is the identity, distances, projections, volumes."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import Euclidean, FlatTorus, Product, Sphere, make_manifold, sphere_log_volume

MANIFOLDS = [Sphere(1), Sphere(2), Sphere(4), FlatTorus(1), FlatTorus(3), Euclidean(2), Product([FlatTorus(2), Sphere(2), Euclidean(1)])]


def _points(m, n, g):
    return m.random_base(n, g, dtype=torch.float64)


@pytest.mark.parametrize("m", MANIFOLDS, ids=repr)
def test_exp_of_log_is_the_identity(m):
    g = torch.Generator().manual_seed(1)
    x, y = _points(m, 200, g), _points(m, 200, g)
    assert torch.allclose(m.exp(x, m.log(x, y)), y, atol=1e-9)
    assert m.on_manifold(x).all() and m.on_manifold(m.exp(x, m.log(x, y))).all()


@pytest.mark.parametrize("m", MANIFOLDS, ids=repr)
def test_log_of_exp_returns_short_tangent_vectors(m):
    g = torch.Generator().manual_seed(2)
    x = _points(m, 100, g)
    u = m.proju(x, torch.randn(x.shape, generator=g, dtype=torch.float64))
    u = u / m.norm(x, u).clamp_min(1e-9)[:, None] * 0.9 * torch.rand(100, 1, generator=g, dtype=torch.float64) * 2.5  # |u| < pi
    assert torch.allclose(m.log(x, m.exp(x, u)), u, atol=1e-8)
    assert torch.allclose(m.dist(x, m.exp(x, u)), m.norm(x, u), atol=1e-8)
    assert torch.allclose(m.pairwise_dist(x, m.exp(x, u)).diagonal(), m.norm(x, u), atol=1e-7)


def test_sphere_distance_is_the_great_circle_angle():
    s = Sphere(2)
    north, east = torch.tensor([[0.0, 0, 1]], dtype=torch.float64), torch.tensor([[1.0, 0, 0]], dtype=torch.float64)
    assert float(s.dist(north, east)) == pytest.approx(math.pi / 2, abs=1e-12)
    assert float(s.dist(north, -north)) == pytest.approx(math.pi, abs=1e-12)
    tiny = s.projx(north + torch.tensor([[1e-9, 0, 0]], dtype=torch.float64))
    assert float(s.dist(north, tiny)) == pytest.approx(1e-9, rel=1e-6)  # no arccos cancellation


def test_torus_distance_goes_the_short_way_round():
    t = FlatTorus(1)
    a, b = torch.tensor([[3.0]], dtype=torch.float64), torch.tensor([[-3.0]], dtype=torch.float64)
    assert float(t.dist(a, b)) == pytest.approx(2 * math.pi - 6, abs=1e-12)


def test_tangent_projection_and_embedding_pullback():
    s = Sphere(2)
    g = torch.Generator().manual_seed(3)
    x = _points(s, 50, g)
    u = s.proju(x, torch.randn(50, 3, generator=g, dtype=torch.float64))
    assert (x * u).sum(-1).abs().max() < 1e-12
    t = FlatTorus(2)
    a = _points(t, 50, g)
    w = torch.randn(50, 4, generator=g, dtype=torch.float64)
    # the pullback is the angle derivative of <embed(a), w>: compare with autograd
    ag = a.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((t.embed(ag) * w).sum(), ag)
    assert torch.allclose(t.to_tangent(a, w), grad, atol=1e-12)


def test_volumes():
    assert Sphere(2).log_volume() == pytest.approx(math.log(4 * math.pi), abs=1e-12)
    assert sphere_log_volume(1) == pytest.approx(math.log(2 * math.pi), abs=1e-12)
    assert sphere_log_volume(3) == pytest.approx(math.log(2 * math.pi**2), abs=1e-12)
    assert FlatTorus(2).log_volume() == pytest.approx(2 * math.log(2 * math.pi))
    with pytest.raises(FlowmatchError, match="infinite volume"):
        Euclidean(2).log_volume()
    with pytest.raises(FlowmatchError, match="unknown manifold"):
        make_manifold("hyperbolic", 2)


def test_uniform_draws_cover_the_sphere_evenly():
    x = Sphere(2).random_base(40_000, torch.Generator().manual_seed(4), dtype=torch.float64)
    # Archimedes: z is uniform on [-1, 1] for the uniform measure on S^2
    assert abs(float(x[:, 2].mean())) < 0.015 and float(x[:, 2].pow(2).mean()) == pytest.approx(1 / 3, abs=0.01)
