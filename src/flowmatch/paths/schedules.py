"""Schedules of affine probability paths: alpha_t, sigma_t and their time derivatives.

Convention (the only one in this package): t = 0 is the source, t = 1 is the data, and
x_t = alpha_t x1 + sigma_t x0. Each schedule is a small frozen dataclass.

References: Lipman et al., "Flow Matching for Generative Modeling" (2023); Liu et al.,
"Flow Straight and Fast" (2023); Song et al., "Score-Based Generative Modeling through SDEs"
(2021) for the VP/VE schedules.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise FlowmatchError(message)


@dataclass(frozen=True)
class ScheduleValues:
    """alpha_t, sigma_t and their derivatives d/dt, each of the shape of `t`."""

    alpha: Tensor
    sigma: Tensor
    d_alpha: Tensor
    d_sigma: Tensor


class Schedule:
    """Base class: subclasses are frozen dataclasses implementing `__call__(t) -> ScheduleValues`."""

    def __call__(self, t: Tensor) -> ScheduleValues:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def source_scale(self) -> float:
        """sigma_0: the standard deviation of the Gaussian source this schedule starts from."""
        return float(self(torch.zeros(1, dtype=torch.float64)).sigma)


@dataclass(frozen=True)
class CondOTSchedule(Schedule):
    """Conditional OT / rectified path: alpha_t = t, sigma_t = 1 - (1 - sigma_min) t."""

    sigma_min: float = 0.0

    def __post_init__(self):
        _require(0.0 <= self.sigma_min < 1.0, f"condot sigma_min must be in [0, 1), got {self.sigma_min}")

    def __call__(self, t: Tensor) -> ScheduleValues:
        one = torch.ones_like(t)
        return ScheduleValues(t, 1 - (1 - self.sigma_min) * t, one, -(1 - self.sigma_min) * one)


@dataclass(frozen=True)
class VPSchedule(Schedule):
    """Variance preserving: alpha_t = a(1 - t), a(s) = exp(-T(s)/2), sigma_t = sqrt(1 - alpha_t^2).

    T(s) = beta_min s + (beta_max - beta_min) s^2 / 2 integrates a linear beta schedule.
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    def __post_init__(self):
        _require(0.0 < self.beta_min <= self.beta_max, f"vp needs 0 < beta_min <= beta_max, got {self.beta_min} and {self.beta_max}")

    def __call__(self, t: Tensor) -> ScheduleValues:
        s = 1 - t
        big_t = self.beta_min * s + 0.5 * (self.beta_max - self.beta_min) * s**2
        beta = self.beta_min + (self.beta_max - self.beta_min) * s
        alpha = torch.exp(-0.5 * big_t)
        # d alpha / dt = d alpha / ds * ds/dt = (-beta/2 alpha) * (-1)
        d_alpha = 0.5 * beta * alpha
        # 1 - alpha^2 = -expm1(-T) stays accurate near t = 1 where alpha -> 1.
        sigma = torch.sqrt(-torch.expm1(-big_t))
        d_sigma = -alpha * d_alpha / sigma
        return ScheduleValues(alpha, sigma, d_alpha, d_sigma)


@dataclass(frozen=True)
class VESchedule(Schedule):
    """Variance exploding: alpha_t = 1, sigma_t = sigma_min (sigma_max / sigma_min)^(1 - t).

    Geometric decrease from sigma_max at t=0 to sigma_min ~ 0 at t=1; the source is
    N(0, sigma_max^2 I).
    """

    sigma_min: float = 0.01
    sigma_max: float = 10.0

    def __post_init__(self):
        _require(0.0 < self.sigma_min < self.sigma_max, f"ve needs 0 < sigma_min < sigma_max, got {self.sigma_min} and {self.sigma_max}")

    def __call__(self, t: Tensor) -> ScheduleValues:
        log_ratio = math.log(self.sigma_max / self.sigma_min)
        sigma = self.sigma_min * torch.exp(log_ratio * (1 - t))
        return ScheduleValues(torch.ones_like(t), sigma, torch.zeros_like(t), -log_ratio * sigma)


@dataclass(frozen=True)
class CosineSchedule(Schedule):
    """Cosine (trigonometric) path: alpha_t = sin(pi t / 2), sigma_t = cos(pi t / 2)."""

    def __call__(self, t: Tensor) -> ScheduleValues:
        h = 0.5 * math.pi
        return ScheduleValues(torch.sin(h * t), torch.cos(h * t), h * torch.cos(h * t), -h * torch.sin(h * t))


@dataclass(frozen=True)
class PolynomialSchedule(Schedule):
    """Polynomial convex path: alpha_t = t^n, sigma_t = 1 - t^n."""

    n: float = 2.0

    def __post_init__(self):
        _require(self.n > 0, f"polynomial exponent must be > 0, got {self.n}")

    def __call__(self, t: Tensor) -> ScheduleValues:
        alpha = t**self.n
        d_alpha = self.n * t ** (self.n - 1)
        return ScheduleValues(alpha, 1 - alpha, d_alpha, -d_alpha)


SCHEDULES = {
    "condot": CondOTSchedule,
    "vp": VPSchedule,
    "ve": VESchedule,
    "cosine": CosineSchedule,
    "polynomial": PolynomialSchedule,
}


def make_schedule(name: str, **params: float | None) -> Schedule:
    """The schedule called `name` with its parameters; None means the schedule's own default.

    A parameter the schedule does not take is an error naming it (a VE sigma_max given to the
    condot path would otherwise be dropped without a word).
    """
    if name not in SCHEDULES:
        raise FlowmatchError(f"unknown path {name!r}; choose one of {', '.join(SCHEDULES)}")
    cls = SCHEDULES[name]
    given = {k: v for k, v in params.items() if v is not None}
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(given) - set(known))
    if unknown:
        takes = ", ".join(known) if known else "no parameters"
        raise FlowmatchError(f"path {name!r} takes {takes}; got {', '.join(unknown)}")
    return cls(**{k: float(v) for k, v in given.items()})
