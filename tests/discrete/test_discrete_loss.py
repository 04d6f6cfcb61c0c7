"""Losses of the posterior: the generalised KL is a divergence (>= 0, 0 at the target) and its draws."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.discrete import MixturePath, PolynomialKappa, draw_masked_count, draw_training, token_losses
from flowmatch.errors import FlowmatchError


def test_uniform_path_kl_is_non_negative_and_zero_at_the_point_mass():
    path = MixturePath(PolynomialKappa(2.0), 5, "uniform")
    g = torch.Generator().manual_seed(0)
    x1 = torch.randint(5, (64, 3), generator=g)
    t = torch.rand(64, generator=g) * 0.99
    x_t = path.sample(x1, t, g)
    random_terms = token_losses(path, torch.randn(64, 3, 5, generator=g), x1, x_t, t, "kl")
    assert bool((random_terms >= -1e-5).all()) and float(random_terms.mean()) > 0
    exact = torch.nn.functional.one_hot(x1, 5).float() * 50.0  # logits of (nearly) a point mass at x1
    assert float(token_losses(path, exact, x1, x_t, t, "kl").abs().max()) < 1e-4


def test_cross_entropy_is_minus_log_p():
    path = MixturePath(PolynomialKappa(1.0), 4, "uniform")
    x1 = torch.tensor([[0, 3]])
    logits = torch.zeros(1, 2, 4)
    terms = token_losses(path, logits, x1, x1, torch.tensor([0.5]), "ce")
    assert torch.allclose(terms, torch.full((1, 2), math.log(4.0)))


def test_masked_count_draw():
    """m ~ U{1..L} tokens masked; kappa ~ Beta(L - m + 1, m) has mean (L - m + 1) / (L + 1)."""
    path = MixturePath(PolynomialKappa(1.0), 4, "mask")
    g = torch.Generator().manual_seed(0)
    x1 = torch.randint(4, (100_000, 6), generator=g)
    x_t, t, masked, m = draw_masked_count(path, x1, g)
    assert torch.equal(masked.sum(1), m) and bool(((m >= 1) & (m <= 6)).all())
    assert torch.equal(x_t == 4, masked) and torch.equal(x_t[~masked], x1[~masked])
    for k in (1, 6):
        assert float(t[m == k].mean()) == pytest.approx((6 - k + 1) / 7, abs=0.01)


def test_unknown_loss():
    path = MixturePath(PolynomialKappa(1.0), 4, "mask")
    with pytest.raises(FlowmatchError, match="unknown discrete loss"):
        draw_training(path, torch.zeros(2, 2, dtype=torch.long), "mse", torch.Generator())
