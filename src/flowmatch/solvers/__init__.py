"""ODE solvers for dx/dt = v(x, t, **cond) over any velocity callable, x: (B, *D), t: (B,).

A package so that each piece has one home: `steppers` (the `Stepper` protocol and the fixed-step
methods), `grids` (where the steps fall), `solve` (the counted velocity, the grid walk and the
adaptive hand-off), `dense` (states between grid points) and `sde` (Euler–Maruyama for the stochastic samplers). Import the public
names from here.
"""

from flowmatch.solvers.dense import hermite
from flowmatch.solvers.grids import GRIDS, MAX_STEPS, time_grid
from flowmatch.solvers.manifold import MANIFOLD_SOLVERS, ExpMap, Projected, manifold_stepper, solve_on_manifold
from flowmatch.solvers.ode import ADAPTIVE, SOLVERS, SampleResult, Velocity, solve
from flowmatch.solvers.sde import Diffusion, EulerMaruyama, solve_sde
from flowmatch.solvers.steppers import FIXED_STEP, RK4, VELOCITY_STEPPERS, Euler, Heun, MeanFlowStep, Midpoint, Stepper

__all__ = [
    "MANIFOLD_SOLVERS",
    "ExpMap",
    "Projected",
    "manifold_stepper",
    "solve_on_manifold",
    "MANIFOLD_SOLVERS",
    "ExpMap",
    "Projected",
    "manifold_stepper",
    "solve_on_manifold",
    "ADAPTIVE",
    "Diffusion",
    "EulerMaruyama",
    "FIXED_STEP",
    "GRIDS",
    "MAX_STEPS",
    "RK4",
    "SOLVERS",
    "Euler",
    "Heun",
    "MeanFlowStep",
    "Midpoint",
    "SampleResult",
    "Stepper",
    "VELOCITY_STEPPERS",
    "Velocity",
    "hermite",
    "solve",
    "solve_sde",
    "time_grid",
]
