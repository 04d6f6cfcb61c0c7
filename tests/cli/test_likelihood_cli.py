"""`flowmatch likelihood` on trained runs (the `gaussian_run` fixture is in conftest.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flowmatch.runs import train
from flowmatch.training import TrainConfig
from helpers import GAUSS_MU, GAUSS_SD, cli


def test_likelihood_cli_on_a_trained_run(gaussian_run, tmp_path):
    run_dir, _ = gaussian_run
    rng = np.random.default_rng(2)
    np.save(tmp_path / "held.npy", (GAUSS_MU + GAUSS_SD * rng.standard_normal((200, 2))).astype(np.float32))
    out = cli("likelihood", run_dir, "--data", tmp_path / "held.npy", "--n", 200, "--solver", "rk4", "--steps", 16, "--per-sample", tmp_path / "ll.npy")
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    ll = np.load(tmp_path / "ll.npy")
    assert ll.shape == (200,) and rec["nll"] == pytest.approx(-ll.mean(), rel=1e-5)
    assert rec["nll_se"] == pytest.approx(ll.std(ddof=1) / math.sqrt(200), rel=1e-3)
    assert "bpd" not in rec


def test_likelihood_cli_refuses_a_two_sided_run(tmp_path):
    train(TrainConfig(data="moons", source="8gaussians", out=str(tmp_path / "two"), steps=2, hidden=8, depth=1, progress=False))
    out = cli("likelihood", tmp_path / "two", "--n", 10)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Gaussian source" in out.stderr
