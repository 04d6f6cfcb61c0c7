"""The stochastic sampler: Euler–Maruyama against closed forms, and the SDE of a Gaussian path
whose marginals (Gaussian to Gaussian) are known at every t."""

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.paths import gaussian_path_sde, make_path
from flowmatch.solvers import solve, solve_sde
from helpers import gaussian_field

MU = torch.tensor([1.5, -1.0], dtype=torch.float64)
SD = torch.tensor([0.5, 1.5], dtype=torch.float64)


def marginal(t: float):
    """Mean and variance of x_t = t x1 + (1 - t) x0, x0 ~ N(0, I), x1 ~ N(MU, diag(SD^2))."""
    return t * MU, (t * SD) ** 2 + (1 - t) ** 2


def test_euler_maruyama_on_ornstein_uhlenbeck_matches_the_closed_form():
    # dx = -x dt + sqrt(2) dW from x(0) = 3: x(1) ~ N(3 e^-1, 1 - e^-2)
    x0 = torch.full((40_000, 1), 3.0, dtype=torch.float64)
    res = solve_sde(lambda x, t: -x, math.sqrt(2.0), x0, generator=torch.Generator().manual_seed(0), steps=200)
    assert res.nfe == 200
    assert res.x.mean().item() == pytest.approx(3 * math.exp(-1), abs=0.02)
    assert res.x.var().item() == pytest.approx(1 - math.exp(-2), rel=0.03)


def test_score_from_the_velocity_is_the_gaussian_score():
    path = make_path("condot")
    v = gaussian_field(MU, SD)
    x = torch.randn(64, 2, dtype=torch.float64) * 2
    for tv in (0.0, 0.3, 0.8):
        t = torch.full((64,), tv, dtype=torch.float64)
        mean, var = marginal(tv)
        assert torch.allclose(path.velocity_to_score(v(x, t), x, t), -(x - mean) / var, atol=1e-10)


@pytest.mark.parametrize("eta", [1.0, 2.0])
def test_sde_sampler_has_the_odes_marginals_gaussian_to_gaussian(eta):
    path = make_path("condot")
    sde = gaussian_path_sde(path, gaussian_field(MU, SD), noise_scale=eta)
    x0 = torch.randn(40_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    res = solve_sde(sde.drift, sde.diffusion, x0, generator=torch.Generator().manual_seed(2), steps=250, trajectory=True)
    for k, tv in [(50, 0.2), (125, 0.5), (250, 1.0)]:
        mean, var = marginal(tv)
        xt = res.trajectory[k]
        assert res.times[k].item() == pytest.approx(tv)
        assert torch.allclose(xt.mean(0), mean, atol=0.03), (tv, xt.mean(0), mean)
        assert torch.allclose(xt.var(0), var, rtol=0.04), (tv, xt.var(0), var)
    # the noise is really there: the SDE's end points are not the ODE's from the same x0
    ode = solve(gaussian_field(MU, SD), x0[:2000], method="rk4", steps=50).x
    assert (res.x[:2000] - ode).pow(2).sum(1).mean() > 0.05
    assert sde.diffusion(1.0) == 0.0 and sde.diffusion(0.0) == pytest.approx(math.sqrt(2) * eta)


def test_noise_scale_zero_is_the_ode_and_a_wrong_score_sign_is_caught():
    path = make_path("condot")
    v = gaussian_field(MU, SD)
    x0 = torch.randn(4000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    sde = gaussian_path_sde(path, v, noise_scale=0.0)
    res = solve_sde(sde.drift, sde.diffusion, x0, generator=torch.Generator().manual_seed(0), steps=20)
    assert torch.allclose(res.x, solve(v, x0, method="euler", steps=20).x)
    # the same sampler with the score's sign flipped (drift v + eta^2 sigma E[x0|x]) spreads out
    bad = solve_sde(lambda x, t: v(x, t) + (1 - t[:, None]) * path.velocity_to_x0(v(x, t), x, t), lambda t: math.sqrt(2) * (1 - t), x0, generator=torch.Generator().manual_seed(0), steps=100)
    assert not torch.allclose(bad.x.var(0), SD**2, rtol=0.2)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(FlowmatchError, match="forward"):
        solve_sde(lambda x, t: x, 1.0, torch.zeros(2, 1), generator=torch.Generator(), t0=1.0, t1=0.0)
    with pytest.raises(FlowmatchError, match="noise scale"):
        gaussian_path_sde(make_path("condot"), lambda x, t: x, noise_scale=-1.0)


def affine_gaussian_field(path, m, s, scale):
    """The marginal velocity of an affine path from N(0, scale^2 I) to N(m, diag(s^2)), per coordinate:
    x_t = a x1 + sig scale z has mean a m and variance a^2 s^2 + (sig scale)^2, and
    E[a' x1 + sig' scale z | x_t] = a' m + (a a' s^2 + sig sig' scale^2) / var (x_t - a m)."""

    def v(x, t):
        sv = path.values(t, x)
        var = sv.alpha**2 * s**2 + (sv.sigma * scale) ** 2
        return sv.d_alpha * m + (sv.alpha * sv.d_alpha * s**2 + sv.sigma * sv.d_sigma * scale**2) / var * (x - sv.alpha * m)

    return v


@pytest.mark.parametrize("name,scale", [("vp", 1.0), ("cosine", 2.0)])
def test_sde_marginals_on_other_paths_and_source_scales(name, scale):
    path = make_path(name)
    sde = gaussian_path_sde(path, affine_gaussian_field(path, MU, SD, scale), noise_scale=1.0, source_scale=scale)
    x0 = scale * torch.randn(20_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    res = solve_sde(sde.drift, sde.diffusion, x0, generator=torch.Generator().manual_seed(5), steps=200, trajectory=True)
    for k in (100, 200):
        t = res.times[k].reshape(1)
        sv = path.schedule(t)
        mean, var = sv.alpha * MU, sv.alpha**2 * SD**2 + (sv.sigma * scale) ** 2
        assert torch.allclose(res.trajectory[k].mean(0), mean, atol=0.04), (name, k)
        assert torch.allclose(res.trajectory[k].var(0), var, rtol=0.05), (name, k, res.trajectory[k].var(0), var)
