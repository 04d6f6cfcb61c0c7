"""Paths against their closed forms: boundaries, derivatives, conditional fields, conversions."""

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.paths import (
    CondOTSchedule,
    CosineSchedule,
    PolynomialSchedule,
    VESchedule,
    VPSchedule,
    make_path,
)

SCHEDULES = [CondOTSchedule(0.0), CondOTSchedule(0.01), VPSchedule(), VESchedule(0.01, 10.0), CosineSchedule(), PolynomialSchedule(2.0), PolynomialSchedule(3.0)]
T = torch.linspace(0.02, 0.98, 49, dtype=torch.float64)


@pytest.mark.parametrize("sched", SCHEDULES, ids=repr)
def test_derivatives_match_finite_differences(sched):
    h = 1e-6
    v, up, dn = sched(T), sched(T + h), sched(T - h)
    torch.testing.assert_close(v.d_alpha, (up.alpha - dn.alpha) / (2 * h), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(v.d_sigma, (up.sigma - dn.sigma) / (2 * h), rtol=1e-5, atol=1e-6)


def test_boundary_values():
    zero, one = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    for sched, a0, s0, a1, s1 in [
        (CondOTSchedule(0.0), 0, 1, 1, 0),
        (CondOTSchedule(0.05), 0, 1, 1, 0.05),
        (CosineSchedule(), 0, 1, 1, 0),
        (PolynomialSchedule(3.0), 0, 1, 1, 0),
        (VESchedule(0.01, 50.0), 1, 50.0, 1, 0.01),
    ]:
        assert sched(zero).alpha.item() == pytest.approx(a0, abs=1e-12)
        assert sched(zero).sigma.item() == pytest.approx(s0, abs=1e-12)
        assert sched(one).alpha.item() == pytest.approx(a1, abs=1e-12)
        assert sched(one).sigma.item() == pytest.approx(s1, abs=1e-12)
    vp = VPSchedule(0.1, 20.0)
    # T(1) = 0.1 + 19.9 / 2 = 10.05: alpha_0 = exp(-5.025), alpha_1 = 1, sigma_1 = 0.
    assert vp(zero).alpha.item() == pytest.approx(math.exp(-10.05 / 2), rel=1e-12)
    assert vp(one).alpha.item() == pytest.approx(1.0)
    assert vp(one).sigma.item() == pytest.approx(0.0, abs=1e-12)
    assert vp(T).alpha.pow(2).add(vp(T).sigma.pow(2)).sub(1).abs().max() < 1e-12


@pytest.mark.parametrize("sched", SCHEDULES, ids=repr)
def test_conditional_velocity_is_time_derivative_of_flow_map(sched):
    """u_t(psi_t(x0) | x1) = d/dt psi_t(x0) with psi_t(x0) = sigma_t x0 + alpha_t x1."""
    from flowmatch.paths import AffinePath

    path = AffinePath(sched)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(len(T), 3, generator=g, dtype=torch.float64)
    x1 = torch.randn(len(T), 3, generator=g, dtype=torch.float64) * 2 + 1
    h = 1e-6
    psi = lambda t: path.sample(x0, x1, t).x_t  # noqa: E731
    fd = (psi(T + h) - psi(T - h)) / (2 * h)
    xt = psi(T)
    torch.testing.assert_close(path.conditional_velocity(xt, x1, T), fd, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(path.sample(x0, x1, T).velocity, fd, rtol=1e-5, atol=1e-5)


def test_condot_target_closed_form():
    path = make_path("condot", sigma_min=0.1)
    x0, x1, t = torch.randn(5, 2), torch.randn(5, 2), torch.rand(5)
    ps = path.sample(x0, x1, t)
    torch.testing.assert_close(ps.velocity, x1 - 0.9 * x0)
    torch.testing.assert_close(ps.x_t, t[:, None] * x1 + (1 - 0.9 * t[:, None]) * x0)
    # sigma_min = 0: the target is x1 - x0, constant along the path (not (x1 - x0) / t).
    ps0 = make_path("condot").sample(x0, x1, t)
    torch.testing.assert_close(ps0.velocity, x1 - x0)


@pytest.mark.parametrize("name", ["condot", "vp", "ve", "cosine", "polynomial"])
def test_target_conversions_round_trip(name):
    path = make_path(name)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(len(T), 4, generator=g, dtype=torch.float64)
    x1 = torch.randn(len(T), 4, generator=g, dtype=torch.float64)
    ps = path.sample(x0, x1, T)
    torch.testing.assert_close(path.velocity_to_x1(ps.velocity, ps.x_t, T), x1, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(path.velocity_to_x0(ps.velocity, ps.x_t, T), x0, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(path.x1_to_velocity(x1, ps.x_t, T), ps.velocity, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(path.x0_to_velocity(x0, ps.x_t, T), ps.velocity, rtol=1e-7, atol=1e-6)
    torch.testing.assert_close(path.x1_to_x0(x1, ps.x_t, T), x0, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(path.x0_to_x1(x0, ps.x_t, T), x1, rtol=1e-7, atol=1e-6)


def test_image_shaped_samples_broadcast():
    path = make_path("vp")
    x0, x1, t = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4), torch.rand(3)
    ps = path.sample(x0, x1, t)
    assert ps.x_t.shape == (3, 1, 4, 4)
    assert torch.allclose(ps.x_t[1], path.schedule(t[1:2]).alpha * x1[1] + path.schedule(t[1:2]).sigma * x0[1])


def test_source_scale_and_unknown_path():
    assert VESchedule(0.01, 7.0).source_scale == pytest.approx(7.0)
    assert CondOTSchedule().source_scale == 1.0
    with pytest.raises(FlowmatchError, match="unknown path"):
        make_path("linear-ish")


# -- every schedule parameter is checked (the path options of a run) --------------------------
def test_make_schedule_refuses_a_parameter_the_schedule_does_not_take():
    from flowmatch.paths import make_schedule

    assert make_schedule("ve", sigma_max=5.0) == VESchedule(0.01, 5.0)
    assert make_schedule("condot", sigma_min=None, sigma_max=None) == CondOTSchedule()  # None: the default
    with pytest.raises(FlowmatchError, match="sigma_max"):
        make_schedule("condot", sigma_max=3.0)
    with pytest.raises(FlowmatchError, match="no parameters"):
        make_schedule("cosine", n=2.0)
    with pytest.raises(FlowmatchError, match="beta_min"):
        make_path("ve", beta_min=0.1)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: CondOTSchedule(1.0), "sigma_min"),
        (lambda: CondOTSchedule(-0.1), "sigma_min"),
        (lambda: VESchedule(0.5, 0.1), "sigma_min < sigma_max"),
        (lambda: VESchedule(0.0, 1.0), "sigma_min < sigma_max"),
        (lambda: VPSchedule(0.0, 20.0), "beta_min"),
        (lambda: VPSchedule(5.0, 1.0), "beta_min <= beta_max"),
        (lambda: PolynomialSchedule(0.0), "exponent"),
    ],
)
def test_schedules_validate_their_parameters(make, match):
    with pytest.raises(FlowmatchError, match=match):
        make()
