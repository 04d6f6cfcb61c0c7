"""Probability paths: schedules (alpha_t, sigma_t), affine paths, and their options.

One convention: t = 0 is the source, t = 1 is the data, x_t = alpha_t x1 + sigma_t x0.
"""

from flowmatch.paths.affine import AffinePath, PathSample, make_path
from flowmatch.paths.config import PathConfig
from flowmatch.paths.schedules import (
    SCHEDULES,
    CondOTSchedule,
    CosineSchedule,
    PolynomialSchedule,
    Schedule,
    ScheduleValues,
    VESchedule,
    VPSchedule,
    make_schedule,
)

__all__ = [
    "AffinePath",
    "CondOTSchedule",
    "CosineSchedule",
    "PathConfig",
    "PathSample",
    "PolynomialSchedule",
    "SCHEDULES",
    "Schedule",
    "ScheduleValues",
    "VESchedule",
    "VPSchedule",
    "make_path",
    "make_schedule",
]
