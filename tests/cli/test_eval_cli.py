"""`flowmatch eval` (metrics and NFE sweeps), `plot --density` and `sample --density-guidance`
on a small trained moons run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flowmatch.runs import train
from flowmatch.training import TrainConfig
from helpers import cli


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("moons") / "run"
    train(TrainConfig(data="moons", out=str(d), steps=200, hidden=32, depth=2, ema_decay=0.9, progress=False))
    return d


def test_cli_eval_metrics_and_sweep(moons_run, tmp_path):
    out = cli("eval", moons_run, "--ref", "moons", "--metrics", "w2,sliced_w2,mmd,energy,nll", "--n", 150, "--steps", 4)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    for key in ("w2", "sliced_w2", "mmd", "energy", "nll", "nll_se"):
        assert math.isfinite(rec[key])
    assert rec["sliced_w2"] <= rec["w2"]
    out = cli("eval", moons_run, "--sweep-nfe", "2,4", "--solvers", "euler,heun", "--n", 100, "--out", tmp_path / "sw")
    assert out.returncode == 0, out.stderr
    assert {p.name for p in (tmp_path / "sw").iterdir()} == {"sweep.csv", "sweep.json", "sweep.png"}
    assert [r["solver"] for r in json.loads(out.stdout)["rows"]] == ["euler", "euler", "heun", "heun", "dopri5"]
    bad = cli("eval", moons_run, "--metrics", "w2,bogus", "--n", 10)
    assert bad.returncode == 2 and "unknown metric 'bogus'" in bad.stderr


def test_cli_plot_density_and_guided_sample(moons_run, tmp_path):
    out = cli("plot", moons_run, "--out", tmp_path / "plots", "--n", 300, "--density")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "plots" / "density.png").stat().st_size > 5000
    # a solver named by the user is used as given (the run's own is checked: tests/cli/test_one_place.py)
    out = cli("sample", moons_run, "--n", 50, "--out", tmp_path / "g.npy", "--density-guidance", "0.2", "--solver", "midpoint", "--steps", "4")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["density_guidance"] == 0.2 and np.load(tmp_path / "g.npy").shape == (50, 2)


def test_eval_fid_without_inception_weights_is_one_line(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cli("train", "--data", "digits", "--out", tmp_path / "r", "--steps", "1", "--channels", "8", "--no-progress", check=True)
    res = cli("eval", tmp_path / "r", "--metrics", "fid", "--n", "20")
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1 and "Inception" in res.stderr, res.stderr
