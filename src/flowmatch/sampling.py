"""Drawing samples from a trained run: source draws, the ODE solve, and the output record."""

from __future__ import annotations

import torch

from flowmatch.solvers import SampleResult, solve
from flowmatch.training import Run


def sample_source(run: Run, n: int, seed: int) -> torch.Tensor:
    """(n, *D) source samples x0 for a run, reproducible from `seed`."""
    g = torch.Generator().manual_seed(seed)
    return run.source.sample(n, g).x.to(run.device)


@torch.no_grad()
def sample_run(
    run: Run,
    n: int,
    *,
    solver: str = "euler",
    steps: int = 8,
    seed: int = 0,
    grid: str = "uniform",
    trajectory: bool = False,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    density_guidance: float = 0.0,
) -> SampleResult:
    """Integrate n source samples to t = 1 through the run's (EMA) velocity network.

    density_guidance = lambda != 0 follows v + lambda ∇x(-div v) instead (see flowmatch.guidance;
    it enables gradients inside the velocity despite this function's no_grad).
    """
    x0 = sample_source(run, n, seed)
    velocity = run.model
    if density_guidance:
        from flowmatch.guidance import DensityGuidedVelocity

        velocity = DensityGuidedVelocity(run.model, density_guidance, seed=seed)
    return solve(velocity, x0, method=solver, steps=steps, grid=grid, trajectory=trajectory, atol=atol, rtol=rtol)
