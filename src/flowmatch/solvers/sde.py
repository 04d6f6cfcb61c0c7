"""`solve_sde`: integrate dx = f(x, t) dt + g(t) dW with the Euler–Maruyama method.

This module exists beside `solve` (which keeps its ODE contract) for the stochastic samplers: an
SDE dx = (v + g^2/2 grad log p_t) dt + g dW has the same marginals p_t as the ODE dx = v dt, for
any diffusion g (see `flowmatch.paths.stochastic`). The drift f(x, t, **cond) takes t: (B,) like
a velocity and is counted like one (NFE = drift evaluations); the diffusion g(t) is a number per
time. The stepper is stateless: the Brownian increments come from the generator passed in.

Reference: Kloeden & Platen, Numerical Solution of Stochastic Differential Equations (1992).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping, Sequence

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.solvers.grids import time_grid
from flowmatch.solvers.ode import SampleResult, Velocity, _Counted
from flowmatch.solvers.steppers import RHS

# g(t): the diffusion coefficient at a scalar time
Diffusion = Callable[[float], float]


@dataclass(frozen=True)
class EulerMaruyama:
    """x_{n+1} = x_n + h f(x_n, t_n) + g(t_n) sqrt(h) xi, xi ~ N(0, I) from `generator` (strong order 1/2)."""

    order: ClassVar[float] = 0.5
    evals_per_step: ClassVar[int] = 1

    def step(self, f: RHS, g: Diffusion, x: Tensor, t: float, h: float, generator: torch.Generator) -> Tensor:
        drift = f(x, t)
        scale = float(g(t)) * math.sqrt(h)
        if scale == 0.0:
            return x + h * drift
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=generator.device).to(x.device)
        return x + h * drift + scale * noise


def solve_sde(
    drift: Velocity,
    diffusion: Diffusion | float,
    x0: Tensor,
    *,
    generator: torch.Generator,
    steps: int = 100,
    t0: float = 0.0,
    t1: float = 1.0,
    grid: str | Sequence[float] | Tensor = "uniform",
    trajectory: bool = False,
    cond: Mapping[str, object] | None = None,
) -> SampleResult:
    """Euler–Maruyama from x(t0) = x0: (B, *D) forward to t1 > t0 on `grid` (`steps` steps).

    drift(x, t, **cond) with t: (B,); diffusion: g(t) for a scalar t, or a constant. The noise is
    drawn from `generator` (a CPU generator: the same samples on every device).
    """
    g: Diffusion = diffusion if callable(diffusion) else (lambda _t, c=float(diffusion): c)
    times = time_grid(steps, t0, t1, grid) if isinstance(grid, str) else torch.as_tensor(grid, dtype=torch.float64)
    ts = times.tolist()
    if any(b <= a for a, b in zip(ts[:-1], ts[1:])):
        raise FlowmatchError("solve_sde integrates forward in time: the grid must increase (t1 > t0)")
    f = _Counted(drift, cond)
    stepper = EulerMaruyama()
    x = x0
    saved = [x0] if trajectory else None
    for ta, tb in zip(ts[:-1], ts[1:]):
        x = stepper.step(f, g, x, ta, tb - ta, generator)
        if saved is not None:
            saved.append(x)
    return SampleResult(x, torch.stack(saved) if saved is not None else None, times if trajectory else None, f.nfe)
