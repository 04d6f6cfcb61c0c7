"""The mask path's evidence lower bound: with the exact posterior it equals the entropy of the data."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.discrete import MixturePath, PolynomialKappa, make_kappa, mask_elbo
from flowmatch.discrete.loss import discrete_loss, draw_training
from flowmatch.errors import FlowmatchError
from helpers import ExactTokenPosterior, joint_table


def joint() -> torch.Tensor:
    """A law over {0,1,2}^3 with dependent tokens (entropy well below 3 log 3)."""
    g = torch.Generator().manual_seed(3)
    p = torch.rand(3, 3, 3, generator=g, dtype=torch.float64) ** 4
    return p / p.sum()


def entropy(p: torch.Tensor) -> float:
    p = p[p > 0]
    return float(-(p * p.log()).sum())


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_bound_with_the_exact_posterior_is_the_entropy(schedule):
    probs = joint()
    path = MixturePath(make_kappa(schedule, 2.0), 3, "mask")
    states, p = joint_table(probs)
    g = torch.Generator().manual_seed(0)
    x1 = states[torch.multinomial(p, 40_000, replacement=True, generator=g)]
    result = mask_elbo(ExactTokenPosterior(path, probs), path, x1, batch_size=4096, generator=g)
    h = entropy(p) / 3  # nats per token
    assert abs(result.nll - h) < 4 * result.stderr + 0.01 * h
    assert result.bpc == pytest.approx(result.nll / math.log(2))
    assert result.tokens == 120_000 and result.rows == 40_000


def test_training_loss_with_the_exact_posterior_is_the_entropy():
    """The mask path's KL loss draws the same bound: its mean, with the exact posterior, is H / L."""
    probs = joint()
    path = MixturePath(PolynomialKappa(2.0), 3, "mask")
    states, p = joint_table(probs)
    g = torch.Generator().manual_seed(1)
    x1 = states[torch.multinomial(p, 40_000, replacement=True, generator=g)]
    draw = draw_training(path, x1, "kl", g)
    loss = discrete_loss(path, ExactTokenPosterior(path, probs)(draw.x_t, draw.t), x1, draw, "kl")
    assert float(loss) == pytest.approx(entropy(p) / 3, rel=0.03)


def test_the_bound_is_above_the_entropy_for_a_wrong_posterior():
    probs = joint()
    path = MixturePath(PolynomialKappa(1.0), 3, "mask")
    states, p = joint_table(probs)
    g = torch.Generator().manual_seed(2)
    x1 = states[torch.multinomial(p, 20_000, replacement=True, generator=g)]
    uniform = lambda x, t: torch.full((*x.shape, 3), -math.log(3.0))  # noqa: E731
    result = mask_elbo(uniform, path, x1, generator=g)
    assert result.nll == pytest.approx(math.log(3.0), abs=1e-6)  # every masked token costs log 3
    assert result.nll > entropy(p) / 3


def test_the_bound_refuses_the_uniform_path_and_bad_tokens():
    uniform = MixturePath(PolynomialKappa(1.0), 3, "uniform")
    with pytest.raises(FlowmatchError, match="mask path"):
        mask_elbo(lambda x, t: x, uniform, torch.zeros(2, 2, dtype=torch.long))
    mask = MixturePath(PolynomialKappa(1.0), 3, "mask")
    with pytest.raises(FlowmatchError, match="tokens 0..2"):
        mask_elbo(lambda x, t: x, mask, torch.full((2, 2), 3))
