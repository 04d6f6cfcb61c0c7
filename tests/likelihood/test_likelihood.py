"""Log-likelihoods by the instantaneous change of variables, against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import dequantize, image_log_likelihood, log_likelihood
from helpers import gaussian_field

MU = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
S = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)


def _rotation(seed: int = 0) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def _data(n: int, rot: torch.Tensor, seed: int = 0):
    z = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = MU + (z * S) @ rot.T
    cov = rot @ torch.diag(S**2) @ rot.T
    true = torch.distributions.MultivariateNormal(MU, cov).log_prob(x)
    return x, true


@pytest.mark.parametrize("rotated", [False, True])
def test_exact_trace_adaptive_matches_gaussian_log_density(rotated):
    rot = _rotation() if rotated else torch.eye(3, dtype=torch.float64)
    x, true = _data(300, rot)
    res = log_likelihood(gaussian_field(MU, S, rot), x, exact=True, method="dopri5", atol=1e-7, rtol=1e-7)
    assert (res.log_likelihood - true).abs().max() < 1e-3
    assert res.nfe > 0 and res.bpd is None
    assert abs(res.nll + float(true.mean())) < 1e-3
    assert res.nll_se == pytest.approx(float(true.std()) / math.sqrt(300), rel=1e-2)


def test_fixed_step_solver_converges_to_the_gaussian_log_density():
    x, true = _data(200, torch.eye(3, dtype=torch.float64))
    v = gaussian_field(MU, S)
    err = [float((log_likelihood(v, x, exact=True, method="rk4", steps=k).log_likelihood - true).abs().max()) for k in (2, 4, 8)]
    assert err[2] < 1e-3
    assert err[0] > err[1] > err[2]


@pytest.mark.parametrize("kind", ["rademacher", "gaussian"])
def test_hutchinson_is_unbiased(kind):
    rot = _rotation(1)  # a non-diagonal Jacobian, so Rademacher probes have variance too
    x, true = _data(400, rot, seed=2)
    res = log_likelihood(gaussian_field(MU, S, rot), x, exact=False, probes=1, probe_kind=kind, method="dopri5", atol=1e-7, rtol=1e-7)
    d = res.log_likelihood - true
    se = float(d.std()) / math.sqrt(len(d))
    assert se > 1e-3  # the estimator is noisy per sample...
    assert abs(float(d.mean())) < 3 * se  # ...but right on average
    assert abs(res.nll + float(true.mean())) < 3 * res.nll_se


def test_image_likelihood_includes_dequantisation_and_scaling_jacobian():
    # Model space x = (p + u) / 127.5 - 1 is N(mu, s^2) per pixel, so the dequantised pixels
    # y = p + u are N(127.5 (mu + 1), (127.5 s)^2): compare in pixel space.
    mu, s = torch.tensor(0.2, dtype=torch.float64), torch.tensor(0.3, dtype=torch.float64)
    shape = (1, 2, 2)
    v_flat = gaussian_field(mu.repeat(4), s.repeat(4))
    v = lambda x, t: v_flat(x.flatten(1), t).reshape(x.shape)  # noqa: E731
    g = torch.Generator().manual_seed(0)
    pixels = (127.5 * (mu + 1) + 127.5 * s * torch.randn(64, *shape, generator=g, dtype=torch.float64)).round().clamp(0, 255)
    torch.set_default_dtype(torch.float64)
    try:
        res = image_log_likelihood(v, pixels, seed=3, exact=True, method="dopri5", atol=1e-8, rtol=1e-8)
        y = (dequantize(pixels, torch.Generator().manual_seed(4)) + 1) * 127.5  # seed + 1: the draw it used
    finally:
        torch.set_default_dtype(torch.float32)
    assert ((y - pixels) >= 0).all() and ((y - pixels) < 1).all()
    true = torch.distributions.Normal(127.5 * (mu + 1), 127.5 * s).log_prob(y).flatten(1).sum(1)
    assert (res.log_likelihood - true).abs().max() < 1e-3
    assert res.bpd == pytest.approx(-float(true.mean()) / (4 * math.log(2)), abs=1e-4)


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(FlowmatchError, match="pixel values"):
        image_log_likelihood(lambda x, t: x, torch.full((1, 1, 2, 2), 300.0))
    with pytest.raises(FlowmatchError, match="unknown solver"):
        log_likelihood(lambda x, t: x, torch.zeros(2, 2), method="nope")
    with pytest.raises(FlowmatchError, match="probe kind"):
        log_likelihood(lambda x, t: x, torch.zeros(2, 2), exact=False, probe_kind="nope")
