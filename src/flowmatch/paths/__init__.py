"""Probability paths: schedules (alpha_t, sigma_t), affine paths, the Brownian bridge, and their options.

One convention: t = 0 is the source, t = 1 is the data, x_t = alpha_t x1 + sigma_t x0 (affine),
or x_t = (1 - t) x0 + t x1 + sigma sqrt(t (1 - t)) eps (the bridge), or on a manifold
x_t = exp_{x0}(alpha_t log_{x0}(x1)) (the geodesic path).
"""

from flowmatch.paths.affine import AffinePath, PathSample, make_path
from flowmatch.paths.bridge import BridgePath
from flowmatch.paths.config import PATHS, PathConfig
from flowmatch.paths.geodesic import GeodesicPath
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
from flowmatch.paths.stochastic import SDEFields, bridge_sde, gaussian_path_sde
from flowmatch.paths.targets import TARGETS, PredictionVelocity, prediction_to_velocity, regression_target

__all__ = [
    "AffinePath",
    "BridgePath",
    "PATHS",
    "CondOTSchedule",
    "CosineSchedule",
    "GeodesicPath",
    "PathConfig",
    "PathSample",
    "PredictionVelocity",
    "SDEFields",
    "TARGETS",
    "PolynomialSchedule",
    "SCHEDULES",
    "Schedule",
    "ScheduleValues",
    "VESchedule",
    "VPSchedule",
    "bridge_sde",
    "gaussian_path_sde",
    "make_path",
    "make_schedule",
    "prediction_to_velocity",
    "regression_target",
]
