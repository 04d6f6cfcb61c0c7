"""Log-likelihoods of trained runs (`flowmatch.runs.run_log_likelihood`, `flowmatch likelihood`)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from flowmatch.data import GaussianSource, ToyData
from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import image_log_likelihood
from flowmatch.runs import load_run, run_log_likelihood, train
from flowmatch.training import TrainConfig
from helpers import GAUSS_MU, GAUSS_SD, gaussian_field


def test_a_run_without_a_gaussian_source_is_refused():
    with pytest.raises(FlowmatchError, match="Gaussian source"):
        run_log_likelihood(SimpleNamespace(source=ToyData("moons"), config=SimpleNamespace(source="moons")), torch.zeros(3, 2))


# -- trained flows (the `gaussian_run` fixture is in conftest.py) ---------------------------
def test_trained_gaussian_flow_heldout_nll_near_the_true_value(gaussian_run):
    _, run = gaussian_run
    rng = np.random.default_rng(1)  # held out: not the training draws
    x = torch.from_numpy(GAUSS_MU + GAUSS_SD * rng.standard_normal((500, 2)))
    true_nll = -float(torch.distributions.Normal(torch.tensor(GAUSS_MU), torch.tensor(GAUSS_SD)).log_prob(x).sum(1).mean())
    entropy = 0.5 * math.log((2 * math.pi * math.e) ** 2 * float(np.prod(GAUSS_SD**2)))
    assert abs(true_nll - entropy) < 0.15  # the held-out set is a fair sample
    res = run_log_likelihood(run, x.float())
    assert abs(res.nll - true_nll) < 0.1


def test_moons_exact_and_hutchinson_agree(tmp_path):
    train(TrainConfig(data="moons", out=str(tmp_path / "m"), steps=300, hidden=64, depth=2, ema_decay=0.99, progress=False))
    run = load_run(tmp_path / "m")
    x = run.data.sample(300, torch.Generator().manual_seed(5)).x
    ex = run_log_likelihood(run, x, exact=True, method="rk4", steps=16)
    hu = run_log_likelihood(run, x, exact=False, probes=16, method="rk4", steps=16)
    assert abs(ex.nll - hu.nll) < min(ex.nll_se, hu.nll_se)
    assert not torch.equal(ex.log_likelihood, hu.log_likelihood)  # really two estimators


def test_run_likelihood_of_images_reports_bits_per_dimension():
    # An image run's data live in [-1, 1]; the run path turns them back into pixels.
    mu, s = torch.tensor(0.2), torch.tensor(0.3)
    v_flat = gaussian_field(mu.repeat(4), s.repeat(4))
    run = SimpleNamespace(model=lambda x, t: v_flat(x.flatten(1), t).reshape(x.shape), source=GaussianSource((1, 2, 2)), device=torch.device("cpu"), config=SimpleNamespace(source="gaussian"))
    pixels = torch.tensor([[[[0.0, 255.0], [128.0, 77.0]]], [[[10.0, 20.0], [30.0, 40.0]]]])
    res = run_log_likelihood(run, pixels / 127.5 - 1, seed=0, exact=True, method="rk4", steps=16)
    direct = image_log_likelihood(run.model, pixels, seed=0, exact=True, method="rk4", steps=16)
    assert res.bpd is not None and res.bpd == pytest.approx(direct.bpd, rel=1e-6)
    assert res.bpd == pytest.approx(res.nll / (4 * math.log(2)), rel=1e-9)
