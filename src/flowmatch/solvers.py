"""ODE solvers for dx/dt = v(x, t) over any velocity callable.

Every solver is stateless: a fixed-step method is a frozen dataclass with a declared order and a
`step` function; `solve` walks a time grid (or hands the problem to torchdiffeq for adaptive
methods) and returns a `SampleResult` with the number of function evaluations actually spent.
Integrating backwards (t0 > t1) works the same way: the step h is negative.

The velocity signature is `v(x, t, **cond)` with x: (B, *D) and t: (B,); solvers expand the
scalar time of a step to shape (B,).

Reference for the adaptive solver: Chen, torchdiffeq (Dormand-Prince 5(4)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError

Velocity = Callable[..., Tensor]
# A right-hand side in (x, scalar time) form, used inside the steppers.
_RHS = Callable[[Tensor, float], Tensor]


@dataclass(frozen=True)
class SampleResult:
    """x: (B, *D) final state; trajectory: (T, B, *D) or None; times: (T,) or None; nfe: int."""

    x: Tensor
    trajectory: Tensor | None
    times: Tensor | None
    nfe: int


@dataclass(frozen=True)
class Euler:
    """x_{n+1} = x_n + h v(x_n, t_n)."""

    order: int = 1
    evals_per_step: int = 1

    def step(self, f: _RHS, x: Tensor, t: float, h: float) -> Tensor:
        return x + h * f(x, t)


@dataclass(frozen=True)
class Midpoint:
    """x_{n+1} = x_n + h v(x_n + h/2 v(x_n, t_n), t_n + h/2)."""

    order: int = 2
    evals_per_step: int = 2

    def step(self, f: _RHS, x: Tensor, t: float, h: float) -> Tensor:
        return x + h * f(x + 0.5 * h * f(x, t), t + 0.5 * h)


@dataclass(frozen=True)
class Heun:
    """x_{n+1} = x_n + h/2 (k1 + k2), k2 = v(x_n + h k1, t_n + h) (explicit trapezoid)."""

    order: int = 2
    evals_per_step: int = 2

    def step(self, f: _RHS, x: Tensor, t: float, h: float) -> Tensor:
        k1 = f(x, t)
        k2 = f(x + h * k1, t + h)
        return x + 0.5 * h * (k1 + k2)


@dataclass(frozen=True)
class RK4:
    """Classical fourth-order Runge-Kutta."""

    order: int = 4
    evals_per_step: int = 4

    def step(self, f: _RHS, x: Tensor, t: float, h: float) -> Tensor:
        k1 = f(x, t)
        k2 = f(x + 0.5 * h * k1, t + 0.5 * h)
        k3 = f(x + 0.5 * h * k2, t + 0.5 * h)
        k4 = f(x + h * k3, t + h)
        return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


FIXED_STEP = {"euler": Euler(), "midpoint": Midpoint(), "heun": Heun(), "rk4": RK4()}
# Adaptive methods are torchdiffeq's; dopri5 is the one the CLI documents.
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "adaptive_heun")
SOLVERS = tuple(FIXED_STEP) + ADAPTIVE
GRIDS = ("uniform", "cosine", "quadratic", "late")


def time_grid(steps: int, t0: float = 0.0, t1: float = 1.0, kind: str = "uniform") -> Tensor:
    """(steps + 1,) float64 grid from t0 to t1.

    uniform: equal steps. cosine: u -> (1 - cos(pi u)) / 2, short steps at both ends.
    quadratic: u -> u^2 in the direction of travel, short steps at the start.
    late: u -> 1 - (1 - u)^2, short steps at the end (near the data, where paths bend most).
    """
    if steps < 1:
        raise FlowmatchError(f"steps must be >= 1, got {steps}")
    u = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    if kind == "uniform":
        w = u
    elif kind == "cosine":
        w = 0.5 * (1 - torch.cos(torch.pi * u))
    elif kind == "quadratic":
        w = u**2
    elif kind == "late":
        w = 1 - (1 - u) ** 2
    else:
        raise FlowmatchError(f"unknown time grid {kind!r}; choose one of {', '.join(GRIDS)}")
    return t0 + (t1 - t0) * w


class _Counted:
    """Wraps v(x, t, **cond) into f(x, t_scalar), expanding t to (B,) and counting calls."""

    def __init__(self, velocity: Velocity, cond: Mapping[str, object] | None):
        self.velocity = velocity
        self.cond = dict(cond or {})
        self.nfe = 0

    def __call__(self, x: Tensor, t: float | Tensor) -> Tensor:
        self.nfe += 1
        tb = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(()).expand(x.shape[0])
        return self.velocity(x, tb, **self.cond)


def solve(
    velocity: Velocity,
    x0: Tensor,
    *,
    method: str = "euler",
    steps: int = 100,
    t0: float = 0.0,
    t1: float = 1.0,
    grid: str | Sequence[float] | Tensor = "uniform",
    trajectory: bool = False,
    save_at: Sequence[float] | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    cond: Mapping[str, object] | None = None,
) -> SampleResult:
    """Integrate dx/dt = velocity(x, t, **cond) from x(t0) = x0: (B, *D) to t1.

    Fixed-step methods walk `grid` (a kind from GRIDS with `steps` steps, or explicit times);
    with `trajectory=True` every grid time is kept. Adaptive methods use atol/rtol and keep
    the states at `save_at` (default: 21 equally spaced times) when `trajectory=True`.
    """
    f = _Counted(velocity, cond)
    if method in FIXED_STEP:
        stepper = FIXED_STEP[method]
        times = (
            time_grid(steps, t0, t1, grid)
            if isinstance(grid, str)
            else torch.as_tensor(grid, dtype=torch.float64)
        )
        ts = times.tolist()
        x = x0
        saved = [x0] if trajectory else None
        for ta, tb in zip(ts[:-1], ts[1:]):
            x = stepper.step(f, x, ta, tb - ta)
            if saved is not None:
                saved.append(x)
        traj = torch.stack(saved) if saved is not None else None
        return SampleResult(x, traj, times if trajectory else None, f.nfe)
    if method in ADAPTIVE:
        from torchdiffeq import odeint  # heavy import only where adaptive solving is used

        if trajectory:
            out_times = torch.as_tensor(
                save_at if save_at is not None else torch.linspace(t0, t1, 21), dtype=torch.float64
            )
        else:
            out_times = torch.tensor([t0, t1], dtype=torch.float64)
        tt = out_times.to(device=x0.device, dtype=x0.dtype)
        states = odeint(lambda t, x: f(x, t), x0, tt, method=method, atol=atol, rtol=rtol)
        return SampleResult(states[-1], states if trajectory else None, out_times if trajectory else None, f.nfe)
    raise FlowmatchError(f"unknown solver {method!r}; choose one of {', '.join(SOLVERS)}")
