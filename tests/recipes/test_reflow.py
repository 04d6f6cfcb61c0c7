"""Reflow, one-step distillation and the few-step recipe (tiny budgets, fixed seeds)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from flowmatch.couplings import CouplingConfig
from flowmatch.data import ArrayData, toy_labelled
from flowmatch.errors import FlowmatchError
from flowmatch.recipes import RECIPE_FOURIER_FEATURES, RECIPE_OT_BLOCK, make_pairs, pair_labels, reflow, straightness
from flowmatch.runs import load_run, recommended_sampler, train
from flowmatch.runs.pairs import load_pairs
from flowmatch.solvers import solve
from flowmatch.training import TrainConfig
from helpers import cli, fails_cleanly

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
    assert recommended_sampler(load_run(run, device="cpu").config).method == "euler"
    # the base solves OT in the recipe's blocks, not in the coupling's default pools, and its MLP
    # (and so the student's) takes the recipe's Fourier features of the input
    base = load_run(run / "base", device="cpu").config
    assert base.ot_block == RECIPE_OT_BLOCK != CouplingConfig.ot_block and base.fourier_features == RECIPE_FOURIER_FEATURES > 0
    assert load_run(run, device="cpu").config.fourier_features == RECIPE_FOURIER_FEATURES
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


def test_make_pairs_passes_labels_and_stops_at_the_deadline():
    shift = torch.tensor([[2.0, 0.0], [0.0, -3.0], [1.0, 1.0]])  # v(x, t | y) = shift[y]: x1 = x0 + shift[y]
    velocity = lambda x, t, y: shift[y]  # noqa: E731
    x0 = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    y = torch.arange(300) % 3
    x1 = make_pairs(velocity, x0, steps=4, chunk=100, y=y)
    assert torch.allclose(x1, x0 + shift[y], atol=1e-5)
    first = make_pairs(velocity, x0, steps=4, chunk=100, y=y, deadline=0.0)  # already past: one chunk
    assert first.shape == (100, 2) and torch.allclose(first, x0[:100] + shift[y[:100]], atol=1e-5)


def test_pair_labels_are_uniform_with_the_null_class_at_its_rate():
    y = pair_labels(20000, 4, 0.25, torch.Generator().manual_seed(0))
    counts = torch.bincount(y, minlength=5).float() / len(y)
    assert abs(float(counts[4]) - 0.25) < 0.015
    assert torch.allclose(counts[:4], torch.full((4,), 0.75 / 4), atol=0.015)
    assert pair_labels(10, 0, 0.25, torch.Generator()) is None


def test_distilling_a_labelled_flow_keeps_its_classes_and_its_null_class(tmp_path):
    """Pairs carry labels (the null class at the run's dropout rate), and the one-step student sent
    to class k lands by the teacher's class-k mode (8gaussians: centres far apart)."""
    x, labels = toy_labelled("8gaussians", 8000, np.random.default_rng(0))
    np.savez(tmp_path / "labelled.npz", x=x, y=labels)
    base = tmp_path / "base"
    train(TrainConfig(data=str(tmp_path / "labelled.npz"), out=str(base), steps=400, seed=0, save_every=400, cond_drop=0.2, **TINY))
    res = reflow(base, tmp_path / "distill", pairs=4096, steps=300, seed=1, distill_fraction=1.0, eval_n=100)
    pairs = load_pairs(res.run_dir / "pairs.pt")
    assert pairs.y is not None and pairs.y.shape == (4096,)
    assert abs(float((pairs.y == 8).float().mean()) - 0.2) < 0.03
    centres = torch.stack([torch.from_numpy(x[labels == k]).mean(0) for k in range(8)])
    student = load_run(res.run_dir, device="cpu").model
    x0 = torch.randn(800, 2, generator=torch.Generator().manual_seed(5))
    y = torch.arange(800) % 8
    with torch.no_grad():
        one = solve(student, x0, method="euler", steps=1, cond={"y": y}).x
    hit = (torch.cdist(one, centres).argmin(1) == y).float().mean()
    assert hit > 0.9, float(hit)


def test_reflow_takes_its_own_null_share_and_path_share(tmp_path):
    x, labels = toy_labelled("8gaussians", 2000, np.random.default_rng(0))
    np.savez(tmp_path / "labelled.npz", x=x, y=labels)
    base = tmp_path / "base"
    train(TrainConfig(data=str(tmp_path / "labelled.npz"), out=str(base), steps=5, seed=0, save_every=5, cond_drop=0.2, **TINY))
    res = reflow(base, tmp_path / "d", pairs=4096, steps=2, seed=1, null_fraction=0.65, eval_n=16)
    assert abs(float((load_pairs(res.run_dir / "pairs.pt").y == 8).float().mean()) - 0.65) < 0.03  # not the base's 0.2
    # under a time cap, pairs are made for path_share of it: far more pairs for a share of 0.8 than of 0.1
    made = {}
    for share in (0.1, 0.8):
        r = reflow(base, tmp_path / f"s{share}", pairs=2_000_000, steps=1, max_minutes=0.05, path_share=share, eval_n=16)
        made[share] = len(load_pairs(r.run_dir / "pairs.pt").x0)
    assert 0 < 2 * made[0.1] < made[0.8] < 2_000_000, made
    with pytest.raises(FlowmatchError, match="path_share"):
        reflow(base, tmp_path / "bad", pairs=64, steps=1, path_share=1.0)


def test_a_labelled_flow_map_student_samples_unguided_draws_with_its_velocity(tmp_path):
    """Its run records midpoint for unguided draws: `flowmatch sample` takes it without --class or
    at W <= 1, the student's own step (meanflow) at W > 1, and a named --solver over both."""
    x, labels = toy_labelled("8gaussians", 2000, np.random.default_rng(0))
    np.savez(tmp_path / "labelled.npz", x=x, y=labels)
    base = tmp_path / "base"
    train(TrainConfig(data=str(tmp_path / "labelled.npz"), out=str(base), steps=5, seed=0, save_every=5, cond_drop=0.2, **TINY))
    res = reflow(base, tmp_path / "fm", pairs=256, steps=2, seed=1, distill_fraction=0.3, eval_n=16, solver_steps=2, objective="flowmap")
    config = load_run(res.run_dir, device="cpu").config
    assert (recommended_sampler(config, guided=True).method, recommended_sampler(config).method) == ("meanflow", "midpoint")
    assert load_run(base, device="cpu").config.unguided_sampler == ""  # a plain run: --sampler for every draw

    def drawn(*flags):
        r = cli("sample", res.run_dir, "--n", "20", "--steps", "5", "--out", tmp_path / "s.npy", *flags)
        assert r.returncode == 0, r.stderr
        rec = json.loads(r.stdout.strip().splitlines()[-1])
        return rec["solver"], rec["nfe"]

    assert drawn() == ("midpoint", 10)
    assert drawn("--class", "3", "--guidance", "1") == ("midpoint", 10)
    assert drawn("--class", "3", "--guidance", "2") == ("meanflow", 5)
    assert drawn("--solver", "meanflow") == ("meanflow", 5)


def test_trainer_refuses_labels_the_data_cannot_have():
    from flowmatch.training import FixedPairs, Trainer

    x = torch.randn(64, 2)
    with pytest.raises(FlowmatchError, match="pair labels"):
        Trainer(TrainConfig(data="blobs", progress=False), ArrayData(x.numpy(), labels=np.arange(64) % 8), pairs=FixedPairs(x, x, torch.full((64,), 9)))
    with pytest.raises(FlowmatchError, match="carry class labels"):
        Trainer(TrainConfig(data="checkerboard", progress=False), pairs=FixedPairs(x, x, torch.zeros(64, dtype=torch.long)))


def test_the_chain_keeps_within_max_minutes(tmp_path):
    """--max-minutes caps the whole chain when no --budget-seconds is given (stages would otherwise
    run their full step counts: 10^6 here)."""
    from flowmatch.recipes import RecipeConfig, few_step_recipe

    cfg = TrainConfig(data="moons", out=str(tmp_path / "run"), steps=10**6, max_minutes=0.1, **TINY)
    summary = few_step_recipe(cfg, RecipeConfig(base_steps=10**6, distill_steps=10**6, reflow_pairs=2048, base_share=0.5))
    assert summary["seconds"] < 30, summary
    assert [s["stage"] for s in summary["stages"]] == ["base", "distill"]
    base_minutes = json.loads((tmp_path / "run" / "base" / "config.json").read_text())["max_minutes"]
    assert 0.04 < base_minutes <= 0.05  # --base-share 0.5 of the 0.1-minute cap


def test_a_timed_reflow_sizes_its_steps_to_the_time_left(tmp_path):
    """With a training speed, max_minutes cuts the step count up front (so the learning-rate
    schedule ends where it should) instead of stopping the run part-way through it."""
    base = tmp_path / "base"
    train(TrainConfig(data="moons", out=str(base), steps=20, save_every=20, **{**TINY, "lr_schedule": "cosine"}))
    res = reflow(base, tmp_path / "d", pairs=256, steps=10**6, max_minutes=0.1, steps_per_second=20.0, distill_fraction=0.5, eval_n=16)
    cfg = json.loads((tmp_path / "d" / "config.json").read_text())
    assert 1 <= cfg["steps"] <= 0.95 * 20.0 * 6 and res.steps == cfg["steps"]  # ran its whole (cut) schedule
    untimed = reflow(base, tmp_path / "e", pairs=256, steps=30, steps_per_second=20.0, eval_n=16)
    assert untimed.steps == 30  # no time cap: the steps asked for


def test_flow_map_distillation_follows_the_teacher_paths_at_any_step_count(tmp_path):
    """The student's N-step samples land where the teacher's RK4(32) paths end, for N = 1, 2 and 10
    (RMS within 0.2 x the transport distance), and its state after one of two steps lies on the
    teacher's path at t = 0.5, not on the straight line between the ends (what straight-line
    distillation learns)."""
    base = tmp_path / "base"
    train(TrainConfig(data="8gaussians", out=str(base), steps=200, seed=0, save_every=200, **TINY))
    res = reflow(base, tmp_path / "fm", pairs=2048, steps=600, seed=1, distill_fraction=0.3, eval_n=100, solver_steps=8, objective="flowmap")
    student = load_run(res.run_dir, device="cpu")
    assert student.config.objective == "flowmap" and recommended_sampler(student.config).method == "meanflow"
    assert load_pairs(res.run_dir / "pairs.pt").states.shape == (9, 2048, 2)
    teacher = load_run(base, device="cpu").model
    x0 = torch.randn(1000, 2, generator=torch.Generator().manual_seed(123))
    rms = lambda d: float(d.pow(2).sum(1).mean().sqrt())  # noqa: E731
    with torch.no_grad():
        path = solve(teacher, x0, method="rk4", steps=32, trajectory=True).trajectory
        transport = rms(path[-1] - x0)
        for n in (1, 2, 10):
            assert rms(solve(student.model, x0, method="meanflow", steps=n).x - path[-1]) <= 0.2 * transport, n
        half = x0 + 0.5 * student.model(x0, torch.zeros(1000), h=torch.full((1000,), 0.5))
    chord = 0.5 * (x0 + path[-1])
    assert rms(half - path[16]) <= 0.5 * rms(chord - path[16]), (rms(half - path[16]), rms(chord - path[16]))


def test_flow_map_needs_paths_and_keeps_them_in_the_pairs_file(tmp_path):
    base = tmp_path / "base"
    train(TrainConfig(data="moons", out=str(base), steps=20, seed=0, save_every=20, **TINY))
    assert "needs --pairs made with paths" in fails_cleanly(cli("train", "--data", "moons", "--objective", "flowmap", "--out", tmp_path / "x", "--steps", "2"))
    assert "choose one" in fails_cleanly(cli("reflow", base, "--out", tmp_path / "y", "--distill", "--flow-map"))
    r = cli("reflow", base, "--out", tmp_path / "z", "--flow-map", "--pairs", "64", "--steps", "3", "--solver-steps", "2")
    assert r.returncode == 0, r.stderr
    pairs = load_pairs(tmp_path / "z" / "pairs.pt")
    assert pairs.states.shape == (3, 64, 2) and torch.equal(pairs.states[0], pairs.x0) and torch.equal(pairs.states[-1], pairs.x1)
    assert torch.allclose(pairs.times, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    # a plain reflow's pairs (no paths) cannot train a flow map
    plain = cli("reflow", base, "--out", tmp_path / "p", "--pairs", "64", "--steps", "1")
    assert plain.returncode == 0, plain.stderr
    bad = cli("train", "--data", "moons", "--objective", "flowmap", "--pairs", tmp_path / "p" / "pairs.pt", "--out", tmp_path / "q", "--steps", "2")
    assert "needs --pairs made with paths" in fails_cleanly(bad)


def test_guided_flow_map_student_follows_the_interval_guided_teacher(tmp_path):
    """A student of guided paths (weights drawn from [1, 3], guidance for t in [0.2, 0.8]) takes the
    weight as an input: in one step at W = 2 it lands where the teacher's interval-guided RK4(32)
    paths end, and at W = 0 where its unconditional (null-class) paths end (RMS within 0.2 x the transport)."""
    from flowmatch.guidance import GuidedVelocity, takes_guidance

    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    y = rng.integers(3, size=4000)
    np.savez(tmp_path / "blobs.npz", x=(centres[y] + 0.5 * rng.standard_normal((4000, 2))).astype(np.float32), y=y)
    base = tmp_path / "base"
    train(TrainConfig(data=str(tmp_path / "blobs.npz"), out=str(base), steps=300, seed=0, save_every=300, cond_drop=0.3, **TINY))
    res = reflow(base, tmp_path / "g", pairs=3072, steps=800, seed=1, distill_fraction=0.3, eval_n=50, solver_steps=8, objective="flowmap", guidance=3.0, guidance_interval=(0.2, 0.8))
    student = load_run(res.run_dir, device="cpu")
    assert student.config.distill_guidance == 3.0 and takes_guidance(student.model)
    pairs = load_pairs(res.run_dir / "pairs.pt")
    labelled = pairs.y < 3
    assert bool((pairs.guidance[~labelled] == 0).all()) and 1.0 <= float(pairs.guidance[labelled].min()) and float(pairs.guidance[labelled].max()) <= 3.0
    teacher = load_run(base, device="cpu").model
    x0 = torch.randn(900, 2, generator=torch.Generator().manual_seed(5))
    labels = torch.arange(3).repeat_interleave(300)
    rms = lambda d: float(d.pow(2).sum(1).mean().sqrt())  # noqa: E731
    with torch.no_grad():
        for w in (2.0, 0.0):
            end = solve(GuidedVelocity(teacher, labels, w, 3, interval=(0.2, 0.8) if w else None), x0, method="rk4", steps=32).x
            one = solve(GuidedVelocity(student.model, labels, w, 3), x0, method="meanflow", steps=1).x
            assert rms(one - end) <= 0.2 * rms(end - x0), (w, rms(one - end), rms(end - x0))


def test_make_paths_velocities_are_the_field_at_each_state_and_reuse_the_first_stage():
    from flowmatch.recipes import make_paths

    a = torch.tensor([[0.0, -1.0], [1.0, 0.5]], dtype=torch.float64)
    calls = []

    def field(x, t):
        calls.append(x.shape[0])
        return x @ a.T + t[:, None]

    x0 = torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    states, velocities, times = make_paths(field, x0, method="rk4", steps=4, chunk=100, dtype=torch.float64)
    assert states.shape == velocities.shape == (5, 300, 2)
    torch.testing.assert_close(velocities, states @ a.T + times[:, None, None], atol=1e-6, rtol=1e-6)  # states kept in float32
    assert len(calls) == 3 * (4 * 4 + 1)  # RK4's own 4 stages per step, and v(x_K, 1) once per chunk
