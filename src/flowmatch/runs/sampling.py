"""Drawing samples from a trained run: source draws, the ODE solve, and the output record."""

from __future__ import annotations

import torch

from flowmatch.errors import FlowmatchError
from flowmatch.guidance import DensityGuidedVelocity, GuidedVelocity, check_labels
from flowmatch.runs.run import Run
from flowmatch.solvers import SampleResult, solve


def sample_source(run: Run, n: int, seed: int) -> torch.Tensor:
    """(n, *D) source samples x0 for a run, reproducible from `seed`."""
    g = torch.Generator().manual_seed(seed)
    return run.source.sample(n, g).x.to(run.device)


@torch.no_grad()
def sample_run(
    run: Run,
    n: int,
    *,
    method: str = "euler",
    steps: int = 8,
    seed: int = 0,
    grid: str = "uniform",
    trajectory: bool = False,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    y: torch.Tensor | None = None,
    guidance: float = 1.0,
    density_guidance: float = 0.0,
) -> SampleResult:
    """Integrate n source samples to t = 1 through the run's (EMA) velocity network.

    y: (n,) class labels for a class-conditional run, sampled with classifier-free guidance
    weight `guidance` (see flowmatch.guidance); y=None samples unconditionally (the null class).
    density_guidance = lambda != 0 follows v + lambda ∇x(-div v) instead (see flowmatch.guidance;
    it enables gradients inside the velocity despite this function's no_grad).
    """
    x0 = sample_source(run, n, seed)
    velocity = run.model
    if y is not None:  # images (issue 3)
        if len(y) != n:
            raise FlowmatchError(f"got {len(y)} class labels for {n} samples")
        velocity = GuidedVelocity(run.model, y, guidance, run.data.num_classes)
    if density_guidance:
        velocity = DensityGuidedVelocity(velocity, density_guidance, seed=seed)
    return solve(velocity, x0, method=method, steps=steps, grid=grid, trajectory=trajectory, atol=atol, rtol=rtol)


def class_labels(spec: str | int | None, n: int, num_classes: int) -> torch.Tensor | None:
    """--class: None (unconditional), an integer class, or 'all' (ceil(n / K) per class, in
    class order, so that a grid with ceil(n / K) columns has one row per class) -> (N,) or None."""
    if spec is None:
        return None
    if str(spec).strip().lower() == "all":
        if num_classes < 1:
            raise FlowmatchError("--class all needs a run trained with class labels")
        per = -(-n // num_classes)
        return torch.arange(num_classes).repeat_interleave(per)
    try:
        c = int(spec)
    except ValueError:
        raise FlowmatchError(f"--class must be an integer class id or 'all', got {spec!r}") from None
    return check_labels(torch.full((n,), c, dtype=torch.long), num_classes)
