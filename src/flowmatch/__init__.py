"""flowmatch: training, sampling, evaluating and explaining flow-matching generative models.

One time convention throughout: t = 0 is the source, t = 1 is the data, and affine paths are
x_t = alpha_t x1 + sigma_t x0. Velocity networks are called as v(x, t, **cond) with t: (B,).
The core import is light: matplotlib, POT, scikit-learn and torchdiffeq load only where used.
"""

from flowmatch.couplings import Coupling
from flowmatch.errors import FlowmatchError
from flowmatch.paths import (
    AffinePath,
    CondOTSchedule,
    CosineSchedule,
    PathSample,
    PolynomialSchedule,
    VESchedule,
    VPSchedule,
    make_path,
)
from flowmatch.solvers import SampleResult, solve, time_grid
from flowmatch.training import TrainConfig, load_run, train

__version__ = "0.1.0"

__all__ = [
    "AffinePath",
    "CondOTSchedule",
    "CosineSchedule",
    "Coupling",
    "FlowmatchError",
    "PathSample",
    "PolynomialSchedule",
    "SampleResult",
    "TrainConfig",
    "VESchedule",
    "VPSchedule",
    "load_run",
    "make_path",
    "solve",
    "time_grid",
    "train",
]
