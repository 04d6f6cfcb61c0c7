"""The numbers behind the explorer's pictures, checked against what they must be: the coupling
views' crossings, the log-density at t = 0 (the source), the conditional paths' ends, the grid
order the page paints in, and the frame format."""

from __future__ import annotations

import math

import numpy as np
import torch

from flowmatch.explore import views
from flowmatch.explore.protocol import decode_frame, encode_frame
from flowmatch.likelihood import gaussian_log_density
from flowmatch.paths import make_path


def test_segment_crossings_on_drawn_cases():
    a = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    crossed = torch.tensor([[1.0, 1.0], [1.0, 0.0]])  # an X
    parallel = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # an =
    assert views.segment_crossings(a, crossed) == 1
    assert views.segment_crossings(a, parallel) == 0
    # a star of n segments through the origin: every pair crosses
    ang = torch.linspace(0, math.pi, 6)[:-1] + 0.1
    d = torch.stack([ang.cos(), ang.sin()], 1)
    assert views.segment_crossings(-d, d) == 10


def test_ot_lines_cross_far_less_than_independent_ones():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(48, 2, generator=g)
    x1 = torch.randn(48, 2, generator=g) * 0.5 + torch.tensor([2.0, 0.0])
    lines = views.coupling_lines(x0, x1)
    assert set(lines) == {"independent", "ot", "sinkhorn"}
    assert lines["ot"][1] < lines["independent"][1] / 4
    # OT pairs are a permutation of x1
    assert torch.equal(lines["ot"][0].sort(0).values, x1.sort(0).values)


def test_log_density_at_time_zero_is_the_source():
    def v(x, t):  # any field: at t = 0 the rescaled field is zero
        return torch.stack([x[:, 1], -x[:, 0]], 1) * (1 + t[:, None])

    grid = views.log_density(v, 0.0, 3.0, 5, 1.0)
    expected = gaussian_log_density(views.grid_points(3.0, 5)).reshape(5, 5)
    assert torch.allclose(grid, expected, atol=1e-5)


def test_log_density_follows_a_known_flow():
    # v(x, t) = x: x_t = x0 e^t, so p_t = N(0, e^{2t} I) and log p_t(x) = log N(x; 0, e^{2t})
    def v(x, t):
        return x

    t = 0.7
    grid = views.log_density(v, t, 2.0, 4, 1.0)
    expected = gaussian_log_density(views.grid_points(2.0, 4), math.exp(t)).reshape(4, 4)
    assert torch.allclose(grid, expected, atol=2e-3)


def test_grid_points_are_in_paint_order():
    g = views.grid_points(1.0, 3)
    assert g[0].tolist() == [-1.0, 1.0] and g[2].tolist() == [1.0, 1.0] and g[-1].tolist() == [1.0, -1.0]


def test_conditional_paths_run_from_source_to_data():
    x0, x1 = torch.randn(5, 2), torch.randn(5, 2)
    paths = views.conditional_paths(make_path("condot"), x0, x1, torch.linspace(0, 1, 3))
    assert paths.shape == (3, 5, 2)
    assert torch.allclose(paths[0], x0) and torch.allclose(paths[-1], x1) and torch.allclose(paths[1], (x0 + x1) / 2)


def test_guided_sampling_and_w2():
    x0 = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))

    def v(x, t):  # nonlinear, so that its divergence depends on x (what guidance follows)
        return -x.pow(3) * (1 + t[:, None])

    plain = views.sample(v, x0, "rk4", 8)
    assert plain.trajectory.shape == (9, 64, 2) and plain.nfe == 32
    guided = views.sample(v, x0, "euler", 4, guidance=0.5)
    assert guided.trajectory.shape == (5, 64, 2) and torch.isfinite(guided.x).all()
    assert views.w2(x0, x0) < 1e-6


def test_extent_covers_the_points():
    assert views.extent_of(torch.zeros(10, 2)) == 2.5
    assert views.extent_of(torch.full((10, 2), 20.0)) >= 20.0


def test_frames_round_trip_through_the_wire_format():
    arrays = {"a": torch.arange(6, dtype=torch.float32).reshape(3, 2), "b": np.ones((2, 2, 2)), "empty": np.zeros((0, 2))}
    header = {"type": "frame", "step": 3, "w2": None, "name": "é"}
    msg = encode_frame(header, arrays)
    h, back = decode_frame(msg)
    assert h == header
    assert back["a"].tolist() == arrays["a"].tolist() and back["b"].shape == (2, 2, 2) and back["empty"].shape == (0, 2)
