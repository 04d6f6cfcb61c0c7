"""Reflow, one-step distillation and the few-step recipe (tiny budgets, fixed seeds)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.recipes import reflow, straightness
from flowmatch.runs import load_run, train
from flowmatch.solvers import solve
from flowmatch.training import TrainConfig
from helpers import cli

TINY = dict(hidden=32, depth=2, ema_decay=0.0, progress=False, lr=3e-3, lr_schedule="constant", batch_size=128)


def test_straightness_closed_forms():
    x0 = torch.randn(400, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    const = lambda x, t: torch.ones_like(x) * torch.tensor([1.0, -2.0], dtype=x.dtype)  # noqa: E731
    assert straightness(const, x0) < 1e-20
    # Rotation v = A x (unit angular speed): the chord is c = (R(1) - I) x0 and int_0^1 v dt = c, so
    # S = E[int |v|^2 dt - 2 c.c + |c|^2] = E[|x0|^2 - |c|^2] = E|x0|^2 (1 - (2 - 2 cos 1)).
    a = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)
    rot = lambda x, t: x @ a.T  # noqa: E731
    expected = float(x0.pow(2).sum(1).mean()) * (2 * math.cos(1.0) - 1)
    assert abs(straightness(rot, x0, steps=64) - expected) < 1e-3 * abs(expected)


def test_reflow_straightens_the_base_flow(tmp_path):
    base = tmp_path / "base"
    train(TrainConfig(data="8gaussians", out=str(base), steps=200, seed=0, save_every=200, **TINY))
    res = reflow(base, tmp_path / "reflow", pairs=1024, steps=200, seed=1, eval_n=200)
    assert res.straightness_after < 0.7 * res.straightness_before, (res.straightness_before, res.straightness_after)
    cfg = json.loads((tmp_path / "reflow" / "config.json").read_text())
    assert cfg["pairs"].endswith("pairs.pt") and cfg["init_from"] == str(base)


def test_distilled_one_step_matches_teacher(tmp_path):
    """Tolerance: RMS |student 1-step - teacher RK4(32)| <= 0.25 x RMS transport distance |x1 - x0|,
    and at most half the teacher's own 1-step RMS error."""
    base = tmp_path / "base"
    train(TrainConfig(data="8gaussians", out=str(base), steps=200, seed=0, save_every=200, **TINY))
    res = reflow(base, tmp_path / "distill", pairs=2048, steps=300, seed=1, distill_fraction=1.0, eval_n=100)
    teacher, student = load_run(base, device="cpu").model, load_run(res.run_dir, device="cpu").model
    x0 = torch.randn(1000, 2, generator=torch.Generator().manual_seed(123))
    with torch.no_grad():
        target = solve(teacher, x0, method="rk4", steps=32).x
        one = solve(student, x0, method="euler", steps=1).x
        teacher_one = solve(teacher, x0, method="euler", steps=1).x
    rms = lambda d: float(d.pow(2).sum(1).mean().sqrt())  # noqa: E731
    assert rms(one - target) <= 0.25 * rms(target - x0), (rms(one - target), rms(target - x0))
    assert rms(one - target) <= 0.5 * rms(teacher_one - target), (rms(one - target), rms(teacher_one - target))


def test_recipe_cli_end_to_end(tmp_path):
    run = tmp_path / "run"
    r = cli(
        "train",
        "--data",
        "moons",
        "--out",
        str(run),
        "--recipe",
        "few-step",
        "--steps",
        "60",
        "--reflow-rounds",
        "1",
        "--reflow-steps",
        "40",
        "--reflow-pairs",
        "512",
        "--distill-steps",
        "30",
        "--hidden",
        "32",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert [s["stage"] for s in summary["stages"]] == ["base", "reflow1", "distill"]
    for sub in ("base", "reflow1", "distill"):
        assert (run / sub / "checkpoint.pt").exists()
    assert json.loads((run / "config.json").read_text())["sampler"] == "euler"
    out = tmp_path / "x.npy"
    r = cli("sample", str(run), "--steps", "1", "--n", "100", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["nfe"] == 1
    x = np.load(out)
    assert x.shape == (100, 2) and np.isfinite(x).all()


def test_reflow_cli_and_bad_input(tmp_path):
    base = tmp_path / "base"
    train(TrainConfig(data="moons", out=str(base), steps=20, save_every=20, **TINY))
    r = cli("reflow", str(base), "--out", str(tmp_path / "r2"), "--pairs", "256", "--steps", "20")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["step"] == 20 and rec["straightness_before"] >= 0 and rec["straightness_after"] >= 0
    r = cli("reflow", str(tmp_path / "missing"), "--out", str(tmp_path / "r3"))
    assert r.returncode == 2 and r.stderr.startswith("error:")
    with pytest.raises(FlowmatchError, match="pairs must be >= 1"):
        reflow(base, tmp_path / "r4", pairs=0)
