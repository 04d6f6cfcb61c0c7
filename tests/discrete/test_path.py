"""The mixture path: its marginal at t is kappa_t data + (1 - kappa_t) source, per token, exactly."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.discrete import CosineKappa, MixturePath, PolynomialKappa, make_kappa
from flowmatch.errors import FlowmatchError


@pytest.mark.parametrize("name,power", [("polynomial", 2.0), ("polynomial", 3.0), ("linear", 1.0), ("cosine", 0.0)])
def test_schedule_ends_derivative_and_inverse(name, power):
    sched = make_kappa(name, power)
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    assert float(sched.kappa(torch.tensor(0.0, dtype=torch.float64))) == 0.0
    assert float(sched.kappa(torch.tensor(1.0, dtype=torch.float64))) == pytest.approx(1.0, abs=1e-12)
    eps = 1e-6
    fd = (sched.kappa(t + eps) - sched.kappa(t - eps)) / (2 * eps)
    assert torch.allclose(sched.d_kappa(t), fd, atol=1e-6)
    assert torch.allclose(sched.inverse(sched.kappa(t)), t, atol=1e-9)
    assert bool((sched.d_kappa(t) > 0).all())


def test_closed_forms_of_the_schedules():
    t = torch.tensor([0.5], dtype=torch.float64)
    assert float(PolynomialKappa(2.0).kappa(t)) == 0.25
    assert float(CosineKappa().kappa(t)) == pytest.approx(1 - math.cos(math.pi / 4))


@pytest.mark.parametrize("source", ["mask", "uniform"])
@pytest.mark.parametrize("t", [0.2, 0.5, 0.9])
def test_path_marginal_matches_kappa(source, t):
    """Each token of x_t shows its data value with probability kappa_t (plus 1/V of the rest on the uniform path)."""
    vocab, n = 7, 400_000
    path = MixturePath(PolynomialKappa(2.0), vocab, source)
    g = torch.Generator().manual_seed(1)
    x1 = torch.randint(vocab, (n // 4, 4), generator=g)
    xt = path.sample(x1, torch.full((len(x1),), t), g)
    k = t**2
    expected = k + (1 - k) / vocab if source == "uniform" else k
    share = float((xt == x1).double().mean())
    assert abs(share - expected) < 5 * math.sqrt(expected * (1 - expected) / n)
    if source == "mask":
        assert set(xt[xt != x1].unique().tolist()) <= {vocab}


def test_marginal_law_of_tokens_matches_the_sampled_histogram():
    """x1 ~ p1 per token: the histogram of x_t is kappa_t p1 + (1 - kappa_t) p0 (here on the uniform path)."""
    vocab, n, t = 5, 500_000, 0.6
    path = MixturePath(CosineKappa(), vocab, "uniform")
    p1 = torch.tensor([0.5, 0.3, 0.1, 0.1, 0.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    x1 = torch.multinomial(p1, n, replacement=True, generator=g).reshape(-1, 1)
    xt = path.sample(x1, torch.full((len(x1),), t), g)
    hist = torch.bincount(xt.reshape(-1), minlength=vocab).double() / n
    expect = path.marginal(p1, t)
    k = 1 - math.cos(math.pi * t / 2)
    assert torch.allclose(expect, k * p1 + (1 - k) / vocab)
    assert torch.allclose(hist, expect, atol=5 * math.sqrt(0.25 / n))


def test_mask_path_vocabulary_and_carry_over():
    path = MixturePath(PolynomialKappa(1.0), 4, "mask")
    assert path.mask_token == 4 and path.input_vocab == 5
    x = torch.tensor([[4, 2]])
    log_q = torch.log_softmax(torch.randn(1, 2, 4), -1)
    out = path.carry_over(log_q, x)
    assert torch.equal(out[0, 0], log_q[0, 0])
    assert out[0, 1].exp().tolist() == [0.0, 0.0, 1.0, 0.0]


def test_bad_paths_are_refused():
    with pytest.raises(FlowmatchError, match="source"):
        MixturePath(PolynomialKappa(1.0), 4, "gaussian")
    with pytest.raises(FlowmatchError, match="at least 2"):
        MixturePath(PolynomialKappa(1.0), 1)
    with pytest.raises(FlowmatchError, match="power"):
        PolynomialKappa(0.0)
    with pytest.raises(FlowmatchError, match="unknown kappa"):
        make_kappa("sigmoid")
