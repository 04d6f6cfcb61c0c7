"""Solvers: measured convergence orders on linear ODEs with known solutions, NFE, dopri5, user steppers."""

import dataclasses
import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.solvers import FIXED_STEP, RK4, Euler, Heun, Midpoint, Stepper, solve, time_grid

W = 2 * math.pi


def linear_field(x, t):
    """dx/dt = a(t) x with a(t) = cos(2 pi t): x(t) = x(0) exp(sin(2 pi t) / (2 pi))."""
    assert t.shape == (x.shape[0],), "solvers must pass t of shape (B,)"
    return torch.cos(W * t)[:, None] * x


def exact(x0, t0, t1):
    return x0 * math.exp((math.sin(W * t1) - math.sin(W * t0)) / W)


X0 = torch.tensor([[1.0], [-0.5], [2.0]], dtype=torch.float64)


@pytest.mark.parametrize("method,order", [("euler", 1), ("midpoint", 2), ("heun", 2), ("rk4", 4)])
def test_measured_order_of_convergence(method, order):
    errs = []
    for n in (16, 32, 64, 128):
        res = solve(linear_field, X0, method=method, steps=n, t0=0.0, t1=0.85)
        errs.append((res.x - exact(X0, 0.0, 0.85)).abs().max().item())
    rates = [math.log2(a / b) for a, b in zip(errs[:-1], errs[1:])]
    assert abs(rates[-1] - order) < 0.15, (method, rates)
    assert FIXED_STEP[method].order == order


@pytest.mark.parametrize("method,per_step", [("euler", 1), ("midpoint", 2), ("heun", 2), ("rk4", 4)])
def test_nfe_counts_evaluations(method, per_step):
    res = solve(linear_field, X0, method=method, steps=7)
    assert res.nfe == 7 * per_step
    assert res.trajectory is None


def test_backward_integration_returns_to_start():
    fwd = solve(linear_field, X0, method="rk4", steps=50, t0=0.0, t1=1.0)
    back = solve(linear_field, fwd.x, method="rk4", steps=50, t0=1.0, t1=0.0)
    torch.testing.assert_close(back.x, X0, rtol=1e-7, atol=1e-7)
    # and the backward solve itself matches the closed form from t=1 to t=0.3
    part = solve(linear_field, fwd.x, method="rk4", steps=50, t0=1.0, t1=0.3)
    torch.testing.assert_close(part.x, exact(fwd.x, 1.0, 0.3), rtol=1e-6, atol=1e-6)


def test_dopri5_within_tolerance_and_counts_nfe():
    res = solve(linear_field, X0, method="dopri5", t0=0.0, t1=1.0, atol=1e-8, rtol=1e-8)
    assert (res.x - exact(X0, 0.0, 1.0)).abs().max() < 1e-6
    assert res.nfe > 6  # at least one accepted step of 6 stages, counted
    back = solve(linear_field, X0, method="dopri5", t0=1.0, t1=0.2, atol=1e-8, rtol=1e-8)
    assert (back.x - exact(X0, 1.0, 0.2)).abs().max() < 1e-6


def test_trajectory_records_grid_and_requested_times():
    res = solve(linear_field, X0, method="euler", steps=4, trajectory=True)
    assert res.trajectory.shape == (5, 3, 1)
    torch.testing.assert_close(res.times, torch.linspace(0, 1, 5, dtype=torch.float64))
    torch.testing.assert_close(res.trajectory[0], X0)
    torch.testing.assert_close(res.trajectory[-1], res.x)
    ad = solve(linear_field, X0, method="dopri5", trajectory=True, save_at=[0.0, 0.5, 1.0], atol=1e-9, rtol=1e-9)
    assert ad.trajectory.shape == (3, 3, 1)
    torch.testing.assert_close(ad.trajectory[1], exact(X0, 0.0, 0.5), rtol=1e-6, atol=1e-6)


def test_conditioning_is_forwarded():
    seen = {}

    def v(x, t, y=None):
        seen["y"] = y
        return torch.zeros_like(x)

    solve(v, X0, steps=1, cond={"y": torch.tensor([1, 2, 3])})
    assert seen["y"].tolist() == [1, 2, 3]


def test_time_grids():
    for kind in ("uniform", "cosine", "quadratic"):
        g = time_grid(8, kind=kind)
        assert g[0] == 0 and g[-1] == 1 and (g.diff() > 0).all()
    g = time_grid(4, 1.0, 0.0, kind="quadratic")
    assert g[0] == 1 and g[-1] == 0 and (g.diff() < 0).all()
    # a non-uniform grid still converges at the method's order
    errs = [(solve(linear_field, X0, method="midpoint", steps=n, grid="cosine").x - exact(X0, 0, 1)).abs().max().item() for n in (32, 64)]
    assert abs(math.log2(errs[0] / errs[1]) - 2) < 0.2


def test_unknown_solver_and_bad_steps():
    with pytest.raises(FlowmatchError, match="unknown solver"):
        solve(linear_field, X0, method="leapfrog")
    with pytest.raises(FlowmatchError, match="steps must be"):
        solve(linear_field, X0, steps=0)
    with pytest.raises(FlowmatchError, match="unknown time grid"):
        time_grid(3, kind="log")


# --- user steppers (issue #10): any object with order, evals_per_step and step(f, x, t, h) ---


class Ralston:
    """A user's own stepper: Ralston's second-order method, k2 at t + 2h/3, weights 1/4, 3/4."""

    order = 2
    evals_per_step = 2

    def step(self, f, x, t, h):
        k1 = f(x, t)
        k2 = f(x + 2 * h / 3 * k1, t + 2 * h / 3)
        return x + h * (0.25 * k1 + 0.75 * k2)


def relaxing_field(x, t):
    """dx/dt = -x + t: x(t) = t - 1 + (x(0) + 1) exp(-t)."""
    assert t.shape == (x.shape[0],), "solvers must pass t of shape (B,)"
    return -x + t[:, None]


def relaxing_exact(x0, t):
    return t - 1 + (x0 + 1) * math.exp(-t)


def test_user_stepper_object_converges_at_its_order_and_is_counted():
    assert isinstance(Ralston(), Stepper)
    errs = []
    for n in (16, 32):
        res = solve(relaxing_field, X0, method=Ralston(), steps=n)
        assert res.nfe == 2 * n
        errs.append((res.x - relaxing_exact(X0, 1.0)).abs().max().item())
    slope = math.log2(errs[0] / errs[1])
    assert 1.8 <= slope <= 2.2, (errs, slope)

    # the wrapper counts calls, so a stepper that under-declares its evaluations is still counted
    class Undeclared(Ralston):
        evals_per_step = 1

    assert solve(relaxing_field, X0, method=Undeclared(), steps=5).nfe == 10


def test_user_stepper_works_with_grids_trajectories_and_backward_solves():
    res = solve(relaxing_field, X0, method=Ralston(), steps=4, grid="late", trajectory=True)
    assert res.trajectory.shape == (5, 3, 1) and res.nfe == 8
    torch.testing.assert_close(res.times, time_grid(4, kind="late"))
    back = solve(linear_field, X0, method=Ralston(), steps=200, t0=1.0, t1=0.3)
    torch.testing.assert_close(back.x, exact(X0, 1.0, 0.3), rtol=1e-4, atol=1e-4)


class _NoOrder:
    evals_per_step = 1

    def step(self, f, x, t, h):
        return x + h * f(x, t)


@pytest.mark.parametrize("bad", [object(), 3, _NoOrder(), Ralston, None])
def test_bad_method_object_is_a_flowmatch_error_naming_method(bad):
    with pytest.raises(FlowmatchError, match="method"):
        solve(linear_field, X0, method=bad, steps=2)


def test_unknown_method_name_names_the_parameter():
    with pytest.raises(FlowmatchError, match=r"unknown solver 'leapfrog' for method"):
        solve(linear_field, X0, method="leapfrog")


def test_order_and_evals_per_step_are_class_attributes():
    assert Euler.order == 1 and Euler.evals_per_step == 1
    assert (Midpoint.order, Heun.order, RK4.order) == (2, 2, 4)
    assert (Midpoint.evals_per_step, Heun.evals_per_step, RK4.evals_per_step) == (2, 2, 4)
    assert Euler() == FIXED_STEP["euler"]  # stateless: no constructor fields
    assert [f.name for f in dataclasses.fields(Euler)] == []
    with pytest.raises(TypeError):
        Euler(order=2)
    with pytest.raises(TypeError):
        RK4(4, 4)
    for stepper in FIXED_STEP.values():
        assert isinstance(stepper, Stepper)
        with pytest.raises(dataclasses.FrozenInstanceError):
            stepper.order = 3


def test_public_names_are_importable_from_the_package():
    import flowmatch.solvers as solvers

    names = "SampleResult solve time_grid FIXED_STEP ADAPTIVE SOLVERS GRIDS Velocity Euler Midpoint Heun RK4 Stepper"
    for name in names.split():
        assert hasattr(solvers, name), name
    assert set(solvers.__all__) >= {"Stepper", "SOLVERS", "FIXED_STEP"}
    assert solvers.SOLVERS == ("euler", "midpoint", "heun", "rk4", "meanflow", *solvers.ADAPTIVE)
    assert solvers.GRIDS == ("uniform", "cosine", "quadratic", "late")


@pytest.mark.parametrize("method", ["euler", "midpoint", "heun", "rk4"])
def test_solve_keeps_the_velocity_at_each_grid_time_without_extra_evaluations(method):
    # dx/dt = -x: the kept velocity at each grid state x_k is exactly -x_k
    x0 = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    plain = solve(lambda x, t: -x, x0, method=method, steps=6)
    kept = solve(lambda x, t: -x, x0, method=method, steps=6, trajectory=True, velocities=True)
    assert kept.nfe == plain.nfe
    assert torch.equal(kept.x, plain.x)
    assert kept.velocities.shape == (6, 5, 3)
    assert torch.allclose(kept.velocities, -kept.trajectory[:-1])


def test_solve_refuses_velocities_of_an_adaptive_method():
    with pytest.raises(FlowmatchError, match="fixed-step"):
        solve(lambda x, t: -x, torch.zeros(2, 2), method="dopri5", velocities=True)
