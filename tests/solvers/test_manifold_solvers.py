"""Manifold solvers: measured orders against closed-form flows, NFE, staying on the manifold."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import FlatTorus, Sphere, TangentVelocity
from flowmatch.models import build_model
from flowmatch.solvers import MANIFOLD_SOLVERS, manifold_stepper, solve_on_manifold

S2 = Sphere(2)
EZ = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
A, W = 1.5, 2.0


def latitude_flow(x, t):
    """a P_x e_z + w e_z x x: dz/dt = a (1 - z^2), longitude + w t."""
    return A * S2.proju(x, EZ.expand_as(x)) + W * torch.linalg.cross(EZ.expand_as(x), x, dim=-1)


def latitude_flow_exact(x0):
    z1 = torch.tanh(A + torch.atanh(x0[:, 2]))
    phi1 = torch.atan2(x0[:, 1], x0[:, 0]) + W
    r = torch.sqrt(1 - z1**2)
    return torch.stack([r * torch.cos(phi1), r * torch.sin(phi1), z1], -1)


def _order(manifold, velocity, x0, exact, method):
    errs = [float(manifold.dist(solve_on_manifold(manifold, velocity, x0, method=method, steps=n).x, exact).max()) for n in (16, 32, 64)]
    return math.log2(errs[-2] / errs[-1])


@pytest.mark.parametrize("method", MANIFOLD_SOLVERS)
def test_measured_order_on_the_sphere_matches_the_declared_one(method):
    x0 = S2.random_base(40, torch.Generator().manual_seed(0), dtype=torch.float64)
    order = _order(S2, latitude_flow, x0, latitude_flow_exact(x0), method)
    assert abs(order - manifold_stepper(method, S2).order) < 0.15


@pytest.mark.parametrize("method", MANIFOLD_SOLVERS)
def test_measured_order_on_the_torus_matches_the_declared_one(method):
    t1 = FlatTorus(1)
    x0 = t1.random_base(40, torch.Generator().manual_seed(1), dtype=torch.float64)
    exact = 2 * torch.atan(torch.tan(x0 / 2) * math.exp(1.5))  # d theta/dt = (1 + t) sin theta
    order = _order(t1, lambda x, t: torch.sin(x) * (1 + t[:, None]), x0, exact, method)
    assert abs(order - manifold_stepper(method, t1).order) < 0.15


def test_nfe_is_counted_and_backward_solves_return():
    x0 = S2.random_base(10, torch.Generator().manual_seed(2), dtype=torch.float64)
    fwd = solve_on_manifold(S2, latitude_flow, x0, method="rk4", steps=50)
    assert fwd.nfe == 200
    back = solve_on_manifold(S2, latitude_flow, fwd.x, method="rk4", steps=50, t0=1.0, t1=0.0)
    assert float(S2.dist(back.x, x0).max()) < 1e-6


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4", "exp-midpoint"])
def test_samples_stay_on_the_sphere_to_1e_5_after_1000_steps(method):
    torch.manual_seed(0)
    model = TangentVelocity(build_model("mlp", (3,), hidden=32, depth=2), S2)  # float32, as trained
    x0 = S2.random_base(64, torch.Generator().manual_seed(3))
    with torch.no_grad():
        res = solve_on_manifold(S2, model, x0, method=method, steps=1000)
    assert float((res.x.norm(dim=-1) - 1).abs().max()) < 1e-5
    assert float(S2.dist(res.x, x0).mean()) > 0.01  # it moved


def test_torus_samples_stay_in_the_fundamental_domain():
    torus = FlatTorus(2)
    torch.manual_seed(0)
    model = TangentVelocity(build_model("mlp", (4,), hidden=16, depth=2), torus)
    with torch.no_grad():
        res = solve_on_manifold(torus, lambda x, t: 10 * model(x, t), torus.random_base(64), steps=1000, method="midpoint")
    assert bool(torus.on_manifold(res.x, atol=0).all())


def test_unknown_solver_is_refused():
    with pytest.raises(FlowmatchError, match="unknown manifold solver"):
        manifold_stepper("dopri5", S2)
