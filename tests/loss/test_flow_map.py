"""Flow-map distillation: the grid intervals it trains on and its loss, against a closed-form flow."""

from __future__ import annotations

import torch

from flowmatch.loss import FLOW_MAP_MAX_STEPS, flow_map_loss, sample_grid_interval


def test_grid_intervals_are_steps_of_uniform_grids():
    t, h = sample_grid_interval(20_000, 0.3, torch.Generator().manual_seed(0))
    steps = torch.round(1 / h)
    assert torch.allclose(h, 1 / steps) and set(steps.long().tolist()) == set(range(1, FLOW_MAP_MAX_STEPS + 1))
    k = t * steps
    assert torch.allclose(k, torch.round(k), atol=1e-5) and bool((t + h <= 1 + 1e-6).all()) and bool((t >= 0).all())
    assert abs(float((steps == 1).float().mean()) - 0.3) < 0.02  # the one-step share


def test_flow_map_loss_is_zero_for_the_exact_average_velocity_only():
    """N(0, 1) -> N(m, s^2): X_t(x0) = t m + sigma_t x0, so u(x_t, t, h) = (X_{t+h} - X_t) / h."""
    m, s = 1.5, 0.3
    sigma = lambda t: torch.sqrt((1 - t) ** 2 + (t * s) ** 2)  # noqa: E731
    x0 = torch.randn(500, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    t, h = sample_grid_interval(500, 0.3, torch.Generator().manual_seed(2))
    t, h = t.double(), h.double()
    flow = lambda t: t[:, None] * m + sigma(t)[:, None] * x0  # noqa: E731
    x_t, x_end = flow(t), flow(t + h)
    z = lambda x, t: (x - t[:, None] * m) / sigma(t)[:, None]  # noqa: E731  x0 back from x_t

    def average(x, t, h):
        zz = z(x, t)
        return ((t + h)[:, None] * m + sigma(t + h)[:, None] * zz - x) / h[:, None]

    def instantaneous(x, t, h):  # the velocity at t: right only as h -> 0
        return m + ((t * s**2 - (1 - t)) / sigma(t) ** 2)[:, None] * (x - t[:, None] * m)

    assert float(flow_map_loss(average, x_t, x_end, t, h)) < 1e-20
    assert float(flow_map_loss(instantaneous, x_t, x_end, t, h)) > 1e-2
