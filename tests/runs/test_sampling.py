"""Sampling a trained run: `sample_run` with its options (density guidance, method)."""

from __future__ import annotations

import numpy as np
import torch

from flowmatch.runs import SamplerSettings, load_run, recommended_sampler, sample_run, train
from flowmatch.training import TrainConfig


def test_sample_run_takes_density_guidance(tmp_path):
    train(TrainConfig(data="moons", out=str(tmp_path / "m"), steps=5, hidden=16, depth=1, progress=False))
    run = load_run(tmp_path / "m")
    plain = sample_run(run, 50, method="euler", steps=2, seed=0)
    guided = sample_run(run, 50, method="euler", steps=2, seed=0, density_guidance=0.5)
    assert guided.nfe == plain.nfe and guided.x.shape == plain.x.shape
    assert not torch.allclose(guided.x, plain.x)
    assert not guided.x.requires_grad


def test_sample_run_guides_with_the_runs_own_rescale_unless_told(tmp_path):
    data = tmp_path / "labelled.npz"
    g = torch.Generator().manual_seed(0)
    np.savez(data, x=torch.randn(120, 2, generator=g).numpy(), y=np.arange(120) % 3)
    train(TrainConfig(data=str(data), out=str(tmp_path / "m"), steps=5, hidden=16, depth=1, progress=False, guidance_rescale=0.5))
    run = load_run(tmp_path / "m")
    y = torch.tensor([0, 1, 2] * 10)
    own = sample_run(run, 30, steps=2, y=y, guidance=3.0).x
    torch.testing.assert_close(own, sample_run(run, 30, steps=2, y=y, guidance=3.0, guidance_rescale=0.5).x)
    assert not torch.allclose(own, sample_run(run, 30, steps=2, y=y, guidance=3.0, guidance_rescale=0.0).x)


def test_sample_run_applies_and_reports_the_recommended_sampler(tmp_path):
    train(TrainConfig(data="moons", out=str(tmp_path / "m"), steps=5, hidden=16, depth=1, progress=False))
    run = load_run(tmp_path / "m")
    plain = sample_run(run, 20)
    assert (plain.method, plain.steps, plain.nfe) == ("midpoint", 4, 8)
    # density guidance is solved where it raises the model's log-density: RK4, 16 steps
    assert recommended_sampler(run.config, density_guidance=0.3) == SamplerSettings("rk4", 16)
    # what the caller names is kept
    named = sample_run(run, 20, method="heun", steps=3)
    assert (named.method, named.steps, named.nfe) == ("heun", 3, 6)


def test_a_distilled_run_recommends_one_euler_step_and_an_explicit_sampler_is_kept():
    assert (recommended_sampler(TrainConfig(distill_fraction=1.0)).method, recommended_sampler(TrainConfig(distill_fraction=1.0)).steps) == ("euler", 1)
    assert recommended_sampler(TrainConfig(objective="meanflow")).method == "meanflow"
    # the user's own choice is what the config records and what is applied
    assert TrainConfig(objective="meanflow", sampler="midpoint").sampler == "midpoint"
    assert recommended_sampler(TrainConfig(objective="meanflow", sampler="midpoint")).method == "midpoint"
