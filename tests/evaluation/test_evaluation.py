"""Evaluation: metrics of a run, NFE sweeps (table, JSON, plot), the density picture, the CLI."""

from __future__ import annotations

import csv
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from likelihood_helpers import gaussian_field, run_cli

from flowmatch.data import ArrayData, GaussianSource
from flowmatch.errors import FlowmatchError
from flowmatch.evaluation import evaluate_run, nfe_sweep, write_sweep

MU = torch.tensor([2.0, -1.0])
S = torch.tensor([0.5, 1.0])


def _closed_form_run():
    """A stand-in for a trained run whose 'network' is the exact condot field to N(MU, S^2)."""
    field = gaussian_field(MU, S)
    data = ArrayData((MU + S * torch.randn(4000, 2, generator=torch.Generator().manual_seed(9))).numpy())
    return SimpleNamespace(model=field, source=GaussianSource((2,), 1.0), data=data, device=torch.device("cpu"), config=SimpleNamespace(source="gaussian", data="gauss"))


def test_nfe_sweep_rows_files_and_convergence(tmp_path):
    run = _closed_form_run()
    ref = MU + S * torch.randn(400, 2, generator=torch.Generator().manual_seed(1))
    rows = nfe_sweep(run, ref, nfes=(1, 2, 4, 8), solvers=("euler", "midpoint", "rk4"), metrics=("w2", "energy"), n=400)
    got = {(r.solver, r.nfe) for r in rows}
    assert got == {("euler", 1), ("euler", 2), ("euler", 4), ("euler", 8), ("midpoint", 2), ("midpoint", 4), ("midpoint", 8), ("rk4", 4), ("rk4", 8), ("dopri5", rows[-1].nfe)}
    assert rows[-1].steps is None and rows[-1].nfe > 8
    euler = [r.values["w2"] for r in rows if r.solver == "euler"]
    assert euler[-1] < euler[0]  # more steps, closer to the data
    files = write_sweep(rows, tmp_path / "sweep")
    assert [f.name for f in files] == ["sweep.csv", "sweep.json", "sweep.png"]
    table = list(csv.DictReader(open(files[0])))
    assert len(table) == len(rows) and set(table[0]) == {"solver", "steps", "nfe", "w2", "energy"}
    assert len(json.loads(files[1].read_text())) == len(rows)
    assert files[2].stat().st_size > 5000


def test_evaluate_run_nll_is_the_gaussian_entropy():
    run = _closed_form_run()
    ref = MU + S * torch.randn(400, 2, generator=torch.Generator().manual_seed(2))
    out = evaluate_run(run, ref, ["w2", "mmd", "nll"], n=400, solver="rk4", steps=8)
    true = -float(torch.distributions.Normal(MU, S).log_prob(ref).sum(1).mean())
    assert out["nll"] == pytest.approx(true, abs=1e-3)
    assert out["nfe"] == 32 and out["w2"] < 0.3 and out["mmd"] < 0.1
    with pytest.raises(FlowmatchError, match="unknown metric"):
        evaluate_run(run, ref, ["fid?"])
    # The feature hook: with the identity as features, FD is the Fréchet distance of the points.
    fd = evaluate_run(run, ref, ["fd"], n=400, solver="rk4", steps=8, feature_fn=lambda x: x)["fd"]
    assert 0 <= fd < 0.1
    with pytest.raises(FlowmatchError, match="feature extractor"):
        evaluate_run(run, ref, ["fd"])


def test_density_grid_integrates_to_one():
    from flowmatch.plotting import log_density_grid

    bounds = (0.0, 4.0, -5.0, 3.0)  # +-4 standard deviations around MU
    logp = log_density_grid(_closed_form_run(), bounds, grid=60, steps=8)
    cell = (4.0 / 59) * (8.0 / 59)
    assert np.exp(logp).sum() * cell == pytest.approx(1.0, abs=0.03)
    gx, gy = np.meshgrid(np.linspace(0, 4, 60), np.linspace(-5, 3, 60))
    true = torch.distributions.Normal(MU, S).log_prob(torch.tensor(np.stack([gx, gy], -1), dtype=torch.float32)).sum(-1).numpy()
    assert np.abs(logp - true).max() < 1e-2


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    from flowmatch.training import TrainConfig, train

    d = tmp_path_factory.mktemp("moons") / "run"
    train(TrainConfig(data="moons", out=str(d), steps=200, hidden=32, depth=2, ema_decay=0.9, progress=False))
    return d


def test_cli_eval_metrics_and_sweep(moons_run, tmp_path):
    out = run_cli("eval", moons_run, "--ref", "moons", "--metrics", "w2,sliced_w2,mmd,energy,nll", "--n", 150, "--steps", 4)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    for key in ("w2", "sliced_w2", "mmd", "energy", "nll", "nll_se"):
        assert math.isfinite(rec[key])
    assert rec["sliced_w2"] <= rec["w2"]
    out = run_cli("eval", moons_run, "--sweep-nfe", "2,4", "--solvers", "euler,heun", "--n", 100, "--out", tmp_path / "sw")
    assert out.returncode == 0, out.stderr
    assert {p.name for p in (tmp_path / "sw").iterdir()} == {"sweep.csv", "sweep.json", "sweep.png"}
    assert [r["solver"] for r in json.loads(out.stdout)["rows"]] == ["euler", "euler", "heun", "heun", "dopri5"]
    bad = run_cli("eval", moons_run, "--metrics", "w2,bogus", "--n", 10)
    assert bad.returncode == 2 and "unknown metric 'bogus'" in bad.stderr


def test_cli_plot_density_and_guided_sample(moons_run, tmp_path):
    out = run_cli("plot", moons_run, "--out", tmp_path / "plots", "--n", 300, "--density")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "plots" / "density.png").stat().st_size > 5000
    out = run_cli("sample", moons_run, "--n", 50, "--out", tmp_path / "g.npy", "--density-guidance", "0.2")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["density_guidance"] == 0.2 and np.load(tmp_path / "g.npy").shape == (50, 2)
