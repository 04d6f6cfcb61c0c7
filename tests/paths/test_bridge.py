"""The Brownian-bridge path against its closed forms: mean, variance, velocity and score at t."""

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.paths import BridgePath, PathConfig

X0 = torch.tensor([[0.0, 1.0], [-2.0, 0.5], [3.0, -1.0]], dtype=torch.float64)
X1 = torch.tensor([[1.0, 1.0], [2.0, -0.5], [0.0, 4.0]], dtype=torch.float64)


@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_bridge_mean_and_variance_at_t(t):
    path = BridgePath(sigma=0.7)
    n = 100_000
    g = torch.Generator().manual_seed(0)
    x0, x1 = X0.repeat(n, 1), X1.repeat(n, 1)
    tt = torch.full((len(x0),), t, dtype=torch.float64)
    xt = path.sample(x0, x1, tt, torch.randn(x0.shape, generator=g, dtype=torch.float64)).x_t.reshape(n, 3, 2)
    mean, var = (1 - t) * X0 + t * X1, 0.7**2 * t * (1 - t)
    assert torch.allclose(xt.mean(0), mean, atol=4 * math.sqrt(var / n))
    assert torch.allclose(xt.var(0), torch.full_like(mean, var), rtol=0.02)


def test_bridge_velocity_and_score_are_the_derivatives_of_the_closed_form():
    path = BridgePath(sigma=0.5)
    eps = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0.2, 0.5, 0.85], dtype=torch.float64)
    ps = path.sample(X0, X1, t, eps)
    # the flow map x_t(eps) = mu_t + s_t eps: its time derivative is the conditional velocity
    h = 1e-6
    fd = (path.sample(X0, X1, t + h, eps).x_t - path.sample(X0, X1, t - h, eps).x_t) / (2 * h)
    assert torch.allclose(ps.velocity, fd, atol=1e-6)
    assert torch.allclose(path.conditional_velocity(ps.x_t, X0, X1, t), ps.velocity, atol=1e-10)
    # the score is grad_x log N(x; mu_t, s_t^2 I)
    x = ps.x_t.clone().requires_grad_(True)
    s2 = (0.5**2 * t * (1 - t))[:, None]
    logp = (-((x - path.mean(X0, X1, t)) ** 2) / (2 * s2)).sum()
    (grad,) = torch.autograd.grad(logp, x)
    assert torch.allclose(ps.score, grad, atol=1e-9)
    assert torch.allclose(path.conditional_score(ps.x_t, X0, X1, t), grad, atol=1e-9)
    # the ends are the pinned points, and the path is finite there
    ends = path.sample(X0, X1, torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64), eps)
    assert torch.allclose(ends.x_t, torch.stack([X0[0], X1[1], X1[2]])) and torch.isfinite(ends.velocity).all()


def test_bridge_options():
    assert PathConfig(path="bridge", bridge_sigma=0.3).build() == BridgePath(0.3)
    assert PathConfig(path="bridge").build().sigma == 0.5
    with pytest.raises(FlowmatchError, match="bridge_sigma"):
        PathConfig(path="condot", bridge_sigma=0.3)
    with pytest.raises(FlowmatchError, match="sigma_min"):
        PathConfig(path="bridge", sigma_min=0.1)
    with pytest.raises(FlowmatchError, match="bridge sigma"):
        BridgePath(0.0)
