"""One-step methods for dx/dt = f(x, t): the `Stepper` protocol and Euler, Midpoint, Heun, RK4.

This module exists so that the method is the one part of a solve a user can swap: `solve` accepts
any object that satisfies `Stepper` (duck typing, no subclassing) as well as a name in
`FIXED_STEP`. A stepper is stateless; `order` and `evals_per_step` are class attributes, and
`step` advances x: (B, *D) from t to t + h (h < 0 integrates backwards).

Reference: Hairer, Norsett & Wanner, Solving Ordinary Differential Equations I (Runge-Kutta methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Protocol, runtime_checkable

from torch import Tensor

# The right-hand side a stepper sees: f(x, t) with x: (B, *D) and a scalar time t; returns (B, *D).
# `solve` builds it from v(x, t, **cond), expanding t to (B,) and counting every call.
RHS = Callable[[Tensor, float], Tensor]


@runtime_checkable
class Stepper(Protocol):
    """What `solve(..., method=stepper)` needs: an order, evaluations per step and `step`.

    `order` and `evals_per_step` are read-only here, so class attributes, instance attributes
    and properties all satisfy the protocol. `evals_per_step` is what the stepper declares; the NFE
    that `solve` reports is counted, so a stepper cannot misreport it.
    """

    @property
    def order(self) -> int: ...

    @property
    def evals_per_step(self) -> int: ...

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        """x: (B, *D) at time t -> (B, *D) at time t + h, calling f `evals_per_step` times."""
        ...


@dataclass(frozen=True)
class Euler:
    """x_{n+1} = x_n + h v(x_n, t_n)."""

    order: ClassVar[int] = 1
    evals_per_step: ClassVar[int] = 1

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        return x + h * f(x, t)


@dataclass(frozen=True)
class Midpoint:
    """x_{n+1} = x_n + h v(x_n + h/2 v(x_n, t_n), t_n + h/2)."""

    order: ClassVar[int] = 2
    evals_per_step: ClassVar[int] = 2

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        return x + h * f(x + 0.5 * h * f(x, t), t + 0.5 * h)


@dataclass(frozen=True)
class Heun:
    """x_{n+1} = x_n + h/2 (k1 + k2), k2 = v(x_n + h k1, t_n + h) (explicit trapezoid)."""

    order: ClassVar[int] = 2
    evals_per_step: ClassVar[int] = 2

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        k1 = f(x, t)
        k2 = f(x + h * k1, t + h)
        return x + 0.5 * h * (k1 + k2)


@dataclass(frozen=True)
class RK4:
    """Classical fourth-order Runge-Kutta."""

    order: ClassVar[int] = 4
    evals_per_step: ClassVar[int] = 4

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        k1 = f(x, t)
        k2 = f(x + 0.5 * h * k1, t + 0.5 * h)
        k3 = f(x + 0.5 * h * k2, t + 0.5 * h)
        k4 = f(x + h * k3, t + h)
        return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


# The names `solve(method=...)` and the CLI accept for fixed-step methods.
@dataclass(frozen=True)
class MeanFlowStep:
    """x_{n+1} = x_n + h u(x_n, t_n, h) for a model u of the average velocity over [t_n, t_n + h].

    Exact transport for an exact u, whatever h: the step a MeanFlow model was trained for
    (see flowmatch.loss). On a plain velocity model it is refused (the model takes no h).
    """

    order: ClassVar[int] = 1  # declared as Euler's: with u = v (h -> 0) it is Euler's method
    evals_per_step: ClassVar[int] = 1

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        return x + h * f(x, t, h=h)


FIXED_STEP: dict[str, Stepper] = {"euler": Euler(), "midpoint": Midpoint(), "heun": Heun(), "rk4": RK4(), "meanflow": MeanFlowStep()}
# the fixed-step methods for a plain velocity field (meanflow needs an average-velocity model)
VELOCITY_STEPPERS = ("euler", "midpoint", "heun", "rk4")
