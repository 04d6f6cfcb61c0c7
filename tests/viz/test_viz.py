"""Pictures: the log-density grid against a closed form; a scatter plot's file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowmatch.viz import log_density_grid, plot_points
from helpers import closed_form_run

MU = torch.tensor([2.0, -1.0])
S = torch.tensor([0.5, 1.0])


def _closed_form_run():
    return closed_form_run(MU, S)


def test_density_grid_integrates_to_one():
    bounds = (0.0, 4.0, -5.0, 3.0)  # +-4 standard deviations around MU
    logp = log_density_grid(_closed_form_run(), bounds, grid=60, steps=8)
    cell = (4.0 / 59) * (8.0 / 59)
    assert np.exp(logp).sum() * cell == pytest.approx(1.0, abs=0.03)
    gx, gy = np.meshgrid(np.linspace(0, 4, 60), np.linspace(-5, 3, 60))
    true = torch.distributions.Normal(MU, S).log_prob(torch.tensor(np.stack([gx, gy], -1), dtype=torch.float32)).sum(-1).numpy()
    assert np.abs(logp - true).max() < 1e-2


def test_plot_points_writes_a_png(tmp_path):
    out = plot_points(torch.randn(200, 2), tmp_path / "sub" / "p.png", title="points")
    assert out == tmp_path / "sub" / "p.png" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000
