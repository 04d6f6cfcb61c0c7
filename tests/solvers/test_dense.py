"""Dense output: the Hermite interpolant of a solved path against closed forms."""

from __future__ import annotations

import torch

from flowmatch.solvers import hermite, solve


def test_hermite_is_exact_on_cubic_paths():
    a, b, c, d = torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    path = lambda t: a * t**3 + b * t**2 + c * t + d  # noqa: E731  one cubic per row, (5, 3) at a time t
    slope = lambda t: 3 * a * t**2 + 2 * b * t + c  # noqa: E731
    times = torch.tensor([0.0, 0.2, 0.65, 1.0], dtype=torch.float64)  # unequal steps
    states, velocities = torch.stack([path(s) for s in times]), torch.stack([slope(s) for s in times])
    t = torch.tensor([0.0, 0.1, 0.2, 0.5, 1.0], dtype=torch.float64)
    exact = torch.stack([path(s)[i] for i, s in enumerate(t)])
    assert torch.allclose(hermite(states, velocities, times, t), exact, atol=1e-12)
    index = torch.tensor([4, 4, 0, 1, 2])  # rows may read any path
    exact = torch.stack([path(s)[i] for i, s in zip(index, t)])
    assert torch.allclose(hermite(states, velocities, times, t, index), exact, atol=1e-12)


def test_hermite_reads_a_gaussian_flow_between_rk4_steps_to_fourth_order():
    """N(0, I) -> N(m, s^2 I) along the OT path: X_t(x0) = t m + sigma_t x0, sigma_t^2 = (1 - t)^2 + t^2 s^2."""
    m, s = torch.tensor([2.0, -1.0], dtype=torch.float64), 0.5
    sigma = lambda t: torch.sqrt((1 - t) ** 2 + (t * s) ** 2)  # noqa: E731
    dsigma = lambda t: (t * s**2 - (1 - t)) / sigma(t)  # noqa: E731

    def v(x, t):
        return m + (dsigma(t) / sigma(t))[:, None] * (x - t[:, None] * m)

    x0 = torch.randn(64, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    t = torch.rand(64, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    exact = t[:, None] * m + sigma(t)[:, None] * x0
    errors = []
    for steps in (4, 8):
        res = solve(v, x0, method="rk4", steps=steps, trajectory=True)
        vel = torch.stack([v(x, torch.full((64,), float(tk), dtype=torch.float64)) for x, tk in zip(res.trajectory, res.times)])
        errors.append(float((hermite(res.trajectory, vel, res.times, t) - exact).abs().max()))
    assert errors[0] < 2e-3 and errors[0] / errors[1] > 8, errors  # halving the step: about 16x
