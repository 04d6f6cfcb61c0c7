"""Fixed-step solvers that step in the tangent space and come back to the manifold.

- projected (`euler`, `midpoint`, `heun`, `rk4`): the flat Runge-Kutta step of the field
  v(pi(x)) projected onto the tangent space at pi(x) (pi = projx), then x_{n+1} = pi(step). The
  field is constant along the normals and tangent on the manifold, so its exact flow stays on it
  and the projection keeps the method's order (Hairer, Lubich and Wanner, "Geometric Numerical
  Integration", IV.4).
- exponential map (`exp-euler`, `exp-midpoint`, `exp-rk4`): every stage and the step itself move
  along geodesics, x_{n+1} = exp_x(h sum_i b_i P_x k_i), with the stages' velocities projected
  onto the tangent space at x (no parallel transport: the tableau's order on a flat manifold,
  the torus; at most two on a curved one, the sphere, where exp-rk4 measures order 2).

Both are `Stepper` objects, so `flowmatch.solvers.solve` runs them and counts the NFE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import Manifold
from flowmatch.solvers.ode import SampleResult, Velocity, solve
from flowmatch.solvers.steppers import FIXED_STEP, RHS, Stepper

# (a: stage coefficients, b: weights, c: stage times) of the exponential-map methods
_TABLEAUS = {
    "euler": ((), (1.0,), (0.0,)),
    "midpoint": (((0.5,),), (0.0, 1.0), (0.0, 0.5)),
    "rk4": (((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)), (1 / 6, 1 / 3, 1 / 3, 1 / 6), (0.0, 0.5, 0.5, 1.0)),
}
PROJECTED = ("euler", "midpoint", "heun", "rk4")
MANIFOLD_SOLVERS = (*PROJECTED, *(f"exp-{k}" for k in _TABLEAUS))


@dataclass(frozen=True)
class Projected:
    """A flat stepper run on v(pi(x)) projected onto the tangent space, then x_{n+1} = pi(x_{n+1})."""

    stepper: Stepper
    manifold: Manifold

    @property
    def order(self) -> int:
        return self.stepper.order

    @property
    def evals_per_step(self) -> int:
        return self.stepper.evals_per_step

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        m = self.manifold

        def tangent(y: Tensor, s: float, **kw) -> Tensor:
            p = m.projx(y)
            return m.proju(p, f(p, s, **kw))

        return m.projx(self.stepper.step(tangent, x, t, h))


@dataclass(frozen=True)
class ExpMap:
    """Explicit Runge-Kutta along geodesics: stage i at exp_x(h sum_j a_ij P_x k_j), step exp_x(h sum_i b_i P_x k_i)."""

    kind: str
    manifold: Manifold

    def __post_init__(self):
        if self.kind not in _TABLEAUS:
            raise FlowmatchError(f"unknown exponential-map method {self.kind!r}; choose one of {', '.join(_TABLEAUS)}")

    @property
    def order(self) -> int:
        order = {"euler": 1, "midpoint": 2, "rk4": 4}[self.kind]
        return order if self.manifold.flat else min(order, 2)

    @property
    def evals_per_step(self) -> int:
        return len(_TABLEAUS[self.kind][1])

    def step(self, f: RHS, x: Tensor, t: float, h: float) -> Tensor:
        m = self.manifold
        a, b, c = _TABLEAUS[self.kind]
        ks = [m.proju(x, f(x, t))]
        for row, ci in zip(a, c[1:]):
            y = m.exp(x, h * sum(aij * k for aij, k in zip(row, ks) if aij))
            ks.append(m.proju(x, m.proju(y, f(y, t + ci * h))))
        return m.exp(x, h * sum(bi * k for bi, k in zip(b, ks) if bi))


def manifold_stepper(method: str, manifold: Manifold) -> Stepper:
    """The stepper called `method` (one of MANIFOLD_SOLVERS) on `manifold`."""
    if method in PROJECTED:
        return Projected(FIXED_STEP[method], manifold)
    if method.startswith("exp-") and method[4:] in _TABLEAUS:
        return ExpMap(method[4:], manifold)
    raise FlowmatchError(f"unknown manifold solver {method!r}; choose one of {', '.join(MANIFOLD_SOLVERS)}")


def solve_on_manifold(
    manifold: Manifold,
    velocity: Velocity,
    x0: Tensor,
    *,
    method: str = "midpoint",
    steps: int = 100,
    t0: float = 0.0,
    t1: float = 1.0,
    trajectory: bool = False,
    cond: Mapping[str, object] | None = None,
) -> SampleResult:
    """Integrate dx/dt = velocity(x, t, **cond) on `manifold` from x(t0) = x0: (B, n) with `steps` steps."""
    return solve(velocity, manifold.projx(x0), method=manifold_stepper(method, manifold), steps=steps, t0=t0, t1=t1, trajectory=trajectory, cond=cond)
