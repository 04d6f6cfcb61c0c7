"""Log-likelihoods by the instantaneous change of variables, against closed forms."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from likelihood_helpers import gaussian_field, run_cli

from flowmatch.data import GaussianSource, ToyData
from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import dequantize, image_log_likelihood, log_likelihood, run_log_likelihood

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
    with pytest.raises(FlowmatchError, match="Gaussian source"):
        run_log_likelihood(SimpleNamespace(source=ToyData("moons"), config=SimpleNamespace(source="moons")), torch.zeros(3, 2))
    with pytest.raises(FlowmatchError, match="pixel values"):
        image_log_likelihood(lambda x, t: x, torch.full((1, 1, 2, 2), 300.0))
    with pytest.raises(FlowmatchError, match="unknown solver"):
        log_likelihood(lambda x, t: x, torch.zeros(2, 2), method="nope")
    with pytest.raises(FlowmatchError, match="probe kind"):
        log_likelihood(lambda x, t: x, torch.zeros(2, 2), exact=False, probe_kind="nope")


# -- trained flows ---------------------------------------------------------------------------
GAUSS_MU, GAUSS_SD = np.array([1.0, -1.0]), np.array([0.5, 1.5])


@pytest.fixture(scope="module")
def gaussian_run(tmp_path_factory):
    from flowmatch.training import TrainConfig, load_run, train

    d = tmp_path_factory.mktemp("gauss")
    rng = np.random.default_rng(0)
    np.save(d / "train.npy", (GAUSS_MU + GAUSS_SD * rng.standard_normal((20000, 2))).astype(np.float32))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # A short run: a fast EMA (0.99), since the default 0.999 still remembers early weights.
        train(TrainConfig(data=str(d / "train.npy"), out=str(d / "run"), steps=2000, hidden=64, depth=2, ema_decay=0.99, progress=False, save_every=2000))
    finally:
        torch.set_num_threads(n)
    return d / "run", load_run(d / "run")


def test_trained_gaussian_flow_heldout_nll_near_the_true_value(gaussian_run):
    _, run = gaussian_run
    rng = np.random.default_rng(1)  # held out: not the training draws
    x = torch.from_numpy(GAUSS_MU + GAUSS_SD * rng.standard_normal((500, 2)))
    true_nll = -float(torch.distributions.Normal(torch.tensor(GAUSS_MU), torch.tensor(GAUSS_SD)).log_prob(x).sum(1).mean())
    entropy = 0.5 * math.log((2 * math.pi * math.e) ** 2 * float(np.prod(GAUSS_SD**2)))
    assert abs(true_nll - entropy) < 0.15  # the held-out set is a fair sample
    res = run_log_likelihood(run, x.float())
    assert abs(res.nll - true_nll) < 0.1


def test_likelihood_cli_on_a_trained_run(gaussian_run, tmp_path):
    run_dir, _ = gaussian_run
    rng = np.random.default_rng(2)
    np.save(tmp_path / "held.npy", (GAUSS_MU + GAUSS_SD * rng.standard_normal((200, 2))).astype(np.float32))
    out = run_cli("likelihood", run_dir, "--data", tmp_path / "held.npy", "--n", 200, "--solver", "rk4", "--steps", 16, "--per-sample", tmp_path / "ll.npy")
    assert out.returncode == 0, out.stderr
    import json

    rec = json.loads(out.stdout)
    ll = np.load(tmp_path / "ll.npy")
    assert ll.shape == (200,) and rec["nll"] == pytest.approx(-ll.mean(), rel=1e-5)
    assert rec["nll_se"] == pytest.approx(ll.std(ddof=1) / math.sqrt(200), rel=1e-3)
    assert "bpd" not in rec


def test_moons_exact_and_hutchinson_agree(tmp_path):
    from flowmatch.training import TrainConfig, load_run, train

    train(TrainConfig(data="moons", out=str(tmp_path / "m"), steps=300, hidden=64, depth=2, ema_decay=0.99, progress=False))
    run = load_run(tmp_path / "m")
    x = run.data.sample(300, torch.Generator().manual_seed(5)).x
    ex = run_log_likelihood(run, x, exact=True, method="rk4", steps=16)
    hu = run_log_likelihood(run, x, exact=False, probes=16, method="rk4", steps=16)
    assert abs(ex.nll - hu.nll) < min(ex.nll_se, hu.nll_se)
    assert not torch.equal(ex.log_likelihood, hu.log_likelihood)  # really two estimators


def test_likelihood_cli_refuses_a_two_sided_run(tmp_path):
    from flowmatch.training import TrainConfig, train

    train(TrainConfig(data="moons", source="8gaussians", out=str(tmp_path / "two"), steps=2, hidden=8, depth=1, progress=False))
    out = run_cli("likelihood", tmp_path / "two", "--n", 10)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Gaussian source" in out.stderr


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
