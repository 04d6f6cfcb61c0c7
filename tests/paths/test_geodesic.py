"""Geodesic paths: ends, constant speed, the closed-form velocity, the Riemannian loss."""

from __future__ import annotations

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.loss import flow_matching_loss, riemannian_fm_loss
from flowmatch.manifolds import Euclidean, FlatTorus, Product, Sphere, TangentVelocity
from flowmatch.models import build_model
from flowmatch.paths import AffinePath, CondOTSchedule, CosineSchedule, GeodesicPath, PolynomialSchedule, VESchedule, VPSchedule

MANIFOLDS = [Sphere(2), Sphere(3), FlatTorus(2), Product([Sphere(2), FlatTorus(1)])]


def _pairs(m, n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return m.random_base(n, g, dtype=torch.float64), m.random_base(n, g, dtype=torch.float64)


@pytest.mark.parametrize("m", MANIFOLDS, ids=repr)
@pytest.mark.parametrize("schedule", [CondOTSchedule(), CosineSchedule(), PolynomialSchedule(3.0)], ids=lambda s: type(s).__name__)
def test_geodesic_path_ends_and_its_velocity_is_the_time_derivative(m, schedule):
    path = GeodesicPath(m, schedule)
    x0, x1 = _pairs(m)
    n = len(x0)
    assert torch.allclose(path.sample(x0, x1, torch.zeros(n, dtype=torch.float64)).x_t, x0, atol=1e-10)
    assert torch.allclose(path.sample(x0, x1, torch.ones(n, dtype=torch.float64)).x_t, x1, atol=1e-10)
    t = torch.rand(n, dtype=torch.float64) * 0.9 + 0.05
    h = 1e-6
    p = path.sample(x0, x1, t)
    fd = (m.log(p.x_t, path.sample(x0, x1, t + h).x_t) - m.log(p.x_t, path.sample(x0, x1, t - h).x_t)) / (2 * h)
    assert torch.allclose(p.velocity, fd, atol=1e-6)
    assert torch.allclose(m.proju(p.x_t, p.velocity), p.velocity, atol=1e-12)  # tangent at x_t


@pytest.mark.parametrize("m", MANIFOLDS, ids=repr)
def test_condot_geodesics_move_at_constant_speed_d_x0_x1(m):
    path = GeodesicPath(m, CondOTSchedule())
    x0, x1 = _pairs(m, 32, seed=1)
    d = m.dist(x0, x1)
    for s in (0.0, 0.3, 0.7, 1.0):
        p = path.sample(x0, x1, torch.full((32,), s, dtype=torch.float64))
        assert torch.allclose(m.norm(p.x_t, p.velocity), d, atol=1e-10)
        assert torch.allclose(m.dist(x0, p.x_t), s * d, atol=1e-9)


def test_schedules_that_do_not_run_from_0_to_1_are_refused():
    for schedule in (VPSchedule(), VESchedule()):
        with pytest.raises(FlowmatchError, match="alpha_0 = 0 and alpha_1 = 1"):
            GeodesicPath(Sphere(2), schedule)


def test_the_euclidean_geodesic_loss_is_the_flat_condot_loss():
    torch.manual_seed(0)
    net = build_model("mlp", (2,), hidden=16, depth=2).double()
    x0, x1 = torch.randn(32, 2, dtype=torch.float64), torch.randn(32, 2, dtype=torch.float64)
    t = torch.rand(32, dtype=torch.float64)
    flat = flow_matching_loss(net, AffinePath(CondOTSchedule()), x0, x1, t)
    curved = riemannian_fm_loss(TangentVelocity(net, Euclidean(2)), GeodesicPath(Euclidean(2), CondOTSchedule()), x0, x1, t)
    assert float(curved.detach()) == pytest.approx(float(flat.detach()), rel=1e-12)


def test_the_loss_vanishes_for_the_conditional_velocity_and_ignores_normal_components():
    s = Sphere(2)
    path = GeodesicPath(s, CondOTSchedule())
    x0, x1 = _pairs(s, 16, seed=2)
    t = torch.rand(16, dtype=torch.float64)
    target = path.sample(x0, x1, t).velocity

    def oracle(x, tt):  # the conditional velocity plus a large normal part
        return target + 5.0 * x

    assert float(riemannian_fm_loss(oracle, path, x0, x1, t)) < 1e-20


def test_tangent_velocity_outputs_tangent_vectors():
    torch.manual_seed(1)
    s = Sphere(2)
    model = TangentVelocity(build_model("mlp", (3,), hidden=16, depth=2).double(), s)
    x = s.random_base(20, dtype=torch.float64)
    v = model(x, torch.rand(20, dtype=torch.float64))
    assert (x * v).sum(-1).abs().max() < 1e-12
    assert torch.allclose(model(3.0 * x, torch.full((20,), 0.5, dtype=torch.float64)), model(x, torch.full((20,), 0.5, dtype=torch.float64)))
