"""Sampling a trained run: `sample_run` with its options (density guidance, method)."""

from __future__ import annotations

import torch

from flowmatch.runs import load_run, sample_run, train
from flowmatch.training import TrainConfig


def test_sample_run_takes_density_guidance(tmp_path):
    train(TrainConfig(data="moons", out=str(tmp_path / "m"), steps=5, hidden=16, depth=1, progress=False))
    run = load_run(tmp_path / "m")
    plain = sample_run(run, 50, steps=2, seed=0)
    guided = sample_run(run, 50, steps=2, seed=0, density_guidance=0.5)
    assert guided.nfe == plain.nfe and guided.x.shape == plain.x.shape
    assert not torch.allclose(guided.x, plain.x)
    assert not guided.x.requires_grad
