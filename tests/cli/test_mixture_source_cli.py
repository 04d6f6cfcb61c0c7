"""A flow on the sphere from a mixture fitted to its data (--source mixture): trained, scored with
the mixture's density, resumed, exported and loaded with the same source; misuse refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flowmatch import from_pretrained, load_run
from flowmatch.data import MixtureSource
from flowmatch.likelihood import manifold_log_likelihood
from flowmatch.manifolds import Sphere
from flowmatch.manifolds.distributions import vmf_mixture
from helpers import cli, fails_cleanly

TINY = ("--hidden", "16", "--depth", "2", "--batch-size", "64", "--no-progress")


def test_a_zero_field_scores_the_source_density_exactly():
    # log p1 = log q(x0) - int div v dt, and with v = 0 the flow is the identity
    q = vmf_mixture()
    x = q.sample(200, torch.Generator().manual_seed(0)).double()
    x = x / x.norm(dim=1, keepdim=True)  # unit in float64, as the likelihood projects its input
    res = manifold_log_likelihood(Sphere(2), lambda x, t: torch.zeros_like(x), x, steps=4, source_log_prob=q.log_prob)
    assert torch.allclose(res.log_likelihood, q.log_prob(x), atol=1e-10)


@pytest.fixture(scope="module")
def mixture_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixture")
    rng = np.random.default_rng(0)
    lat, lon = np.clip(rng.normal(20, 10, 400), -89, 89), rng.normal(40, 15, 400)
    np.save(d / "train.npy", np.stack([lat, lon], 1))
    np.save(d / "val.npy", np.stack([lat[:80], lon[:80]], 1))
    run = d / "run"
    res = cli("train", "--data", d / "train.npy", "--val-data", d / "val.npy", "--manifold", "sphere", "--source", "mixture", "--out", run, "--steps", "30", "--val-every", "15", *TINY)
    assert res.returncode == 0, res.stderr
    return d, run


def test_the_mixture_source_is_fitted_paired_by_component_and_kept(mixture_run):
    d, run = mixture_run
    config = json.loads((run / "config.json").read_text())
    assert config["source"] == "mixture" and config["coupling"] == "component"
    loaded = load_run(run)
    assert isinstance(loaded.source, MixtureSource)
    # 400 points allow at most 100 components (four points each): the validation points chose 32 or 64
    assert len(loaded.source.mixture.kappas) in (32, 64)
    best = load_run(run, checkpoint="best")
    assert torch.equal(best.source.mixture.means, loaded.source.mixture.means)


def test_likelihood_uses_the_mixture_density(mixture_run):
    d, run = mixture_run
    lik = json.loads(cli("likelihood", run, "--data", d / "val.npy", "--steps", "10", check=True).stdout)
    # the data sit in one region of the globe: a flow from the fitted mixture scores far below
    # the uniform density's log(4 pi) = 2.53 nats from the start
    assert lik["nll"] < 1.0


def test_export_and_from_pretrained_carry_the_source(mixture_run, tmp_path):
    _, run = mixture_run
    cli("export", run, "--out", tmp_path / "exp", check=True)
    pretrained = from_pretrained(tmp_path / "exp", device="cpu")
    assert torch.equal(pretrained.source.mixture.kappas, load_run(run).source.mixture.kappas)
    x = pretrained.sample(50)
    assert x.shape == (50, 3) and torch.allclose(x.norm(dim=1), torch.ones(50), atol=1e-5)


def test_resume_continues_with_the_kept_source(mixture_run, tmp_path):
    d, run = mixture_run
    first = load_run(run).source.mixture.means
    res = cli("train", "--data", d / "train.npy", "--val-data", d / "val.npy", "--manifold", "sphere", "--source", "mixture", "--out", run, "--steps", "40", "--val-every", "15", *TINY, "--resume")
    assert res.returncode == 0, res.stderr
    assert torch.equal(load_run(run).source.mixture.means, first)


@pytest.mark.parametrize(
    "args, words",
    [
        (("--data", "wrapped-normal-mixture", "--manifold", "torus", "--source", "mixture"), ("--manifold sphere",)),
        (("--data", "vmf-mixture", "--manifold", "sphere", "--coupling", "component"), ("--source mixture",)),
        (("--data", "moons", "--source", "mixture"), ("--manifold sphere",)),
    ],
)
def test_misuse_gets_one_error_line(args, words, tmp_path):
    fails_cleanly(cli("train", *args, "--out", tmp_path / "r", "--steps", "2", *TINY), *words)
    assert not (tmp_path / "r").exists()
