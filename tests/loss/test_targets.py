"""The loss in each parameterisation (velocity, x1, epsilon; the bridge's velocity and score; pair
weights), and the conversion of a trained prediction to the velocity it stands for."""

import pytest
import torch

from flowmatch.loss import flow_matching_loss
from flowmatch.models import MLPVelocity, VelocityAndScore
from flowmatch.paths import BridgePath, PredictionVelocity, make_path
from flowmatch.paths.targets import T_CLAMP
from helpers import gaussian_field

G = torch.Generator().manual_seed(0)
X0, X1, T = torch.randn(64, 2, generator=G), torch.randn(64, 2, generator=G) + 2, torch.rand(64, generator=G)


def zero(x, t, joint=False, **cond):
    return torch.zeros(x.shape[0], 2, *x.shape[1:]) if joint else torch.zeros_like(x)


def sq(a):
    return a.pow(2).sum(1)


@pytest.mark.parametrize("path_name", ["condot", "vp", "cosine"])
def test_each_target_is_regressed_in_its_own_parameterisation(path_name):
    path = make_path(path_name)
    ps = path.sample(X0, X1, T)
    assert flow_matching_loss(zero, path, X0, X1, T).item() == pytest.approx(sq(ps.velocity).mean().item(), rel=1e-6)
    assert flow_matching_loss(zero, path, X0, X1, T, target="x1").item() == pytest.approx(sq(X1).mean().item(), rel=1e-6)
    assert flow_matching_loss(zero, path, X0, X1, T, target="epsilon").item() == pytest.approx(sq(X0).mean().item(), rel=1e-6)
    w = torch.zeros(64)
    w[:8] = 8.0  # mean 1, all the weight on the first eight pairs
    assert flow_matching_loss(zero, path, X0, X1, T, target="x1", weight=w).item() == pytest.approx(sq(X1[:8]).mean().item(), rel=1e-6)


def test_bridge_loss_is_zero_for_the_conditional_targets_and_weights_the_score_by_the_std():
    path = BridgePath(0.4)
    noise = torch.randn(64, 2, generator=G)
    ps = path.sample(X0, X1, T, noise)

    def oracle(x, t, joint=False):
        assert joint and torch.equal(x, ps.x_t)
        return torch.stack([ps.velocity, ps.score], 1)

    assert flow_matching_loss(oracle, path, X0, X1, T, noise=noise).item() < 1e-10
    zero_loss = flow_matching_loss(zero, path, X0, X1, T, noise=noise).item()
    assert zero_loss == pytest.approx((sq(ps.velocity) + sq(noise)).mean().item(), rel=1e-6)


def test_velocity_and_score_networks():
    model = VelocityAndScore(MLPVelocity(2, hidden=8, depth=1), MLPVelocity(2, hidden=8, depth=1))
    joint = model(X0, T, joint=True)
    assert joint.shape == (64, 2, 2)
    assert torch.equal(joint[:, 0], model(X0, T)) and torch.equal(joint[:, 1], model.score(X0, T))


@pytest.mark.parametrize("target,convert", [("x1", "velocity_to_x1"), ("epsilon", "velocity_to_x0")])
def test_an_exact_prediction_converts_back_to_the_closed_form_velocity(target, convert):
    # the ideal predictor of x1 (or x0) is the conversion of the marginal velocity: wrapped in
    # PredictionVelocity it must give the closed-form velocity back, at t clamped to [T_CLAMP, 1 - T_CLAMP]
    mu, sd = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([0.5, 1.2], dtype=torch.float64)
    v = gaussian_field(mu, sd)
    path = make_path("condot")

    class Ideal(torch.nn.Module):
        def forward(self, x, t):
            return getattr(path, convert)(v(x, t), x, t)

    wrapped = PredictionVelocity(Ideal(), path, target)
    x = torch.randn(32, 2, dtype=torch.float64, generator=G)
    for tv in (0.0, 0.01, 0.3, 0.9, 1.0):
        t = torch.full((32,), tv, dtype=torch.float64)
        tc = t.clamp(T_CLAMP, 1 - T_CLAMP)
        assert torch.allclose(wrapped(x, t), v(x, tc), atol=1e-9), tv
