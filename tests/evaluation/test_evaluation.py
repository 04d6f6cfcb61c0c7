"""Evaluation: metrics of a run, NFE sweeps (table, JSON, plot), Inception FID's one-line error.

The run is a stand-in whose 'network' is a closed-form field (helpers.gaussian_field); the
`flowmatch eval` command is tested in tests/cli/test_eval_cli.py.
"""

from __future__ import annotations

import csv
import json

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.evaluation import evaluate_run, inception_fid, nfe_sweep, write_sweep
from helpers import closed_form_run

MU = torch.tensor([2.0, -1.0])
S = torch.tensor([0.5, 1.0])


def _closed_form_run():
    return closed_form_run(MU, S)


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
    out = evaluate_run(run, ref, ["w2", "mmd", "nll"], n=400, method="rk4", steps=8)
    true = -float(torch.distributions.Normal(MU, S).log_prob(ref).sum(1).mean())
    assert out["nll"] == pytest.approx(true, abs=1e-3)
    assert out["nfe"] == 32 and out["w2"] < 0.3 and out["mmd"] < 0.1
    with pytest.raises(FlowmatchError, match="unknown metric"):
        evaluate_run(run, ref, ["fid?"])
    # The feature hook: with the identity as features, FD is the Fréchet distance of the points.
    fd = evaluate_run(run, ref, ["fd"], n=400, method="rk4", steps=8, feature_fn=lambda x: x)["fd"]
    assert 0 <= fd < 0.1
    with pytest.raises(FlowmatchError, match="feature extractor"):
        evaluate_run(run, ref, ["fd"])


def test_fid_metric_names_what_is_missing_in_one_line(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    images = torch.zeros(4, 1, 8, 8)
    with pytest.raises(FlowmatchError, match="weights-inception-2015-12-05-6726825d.pth"):
        inception_fid(images, images)
