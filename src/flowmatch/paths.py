"""Affine probability paths x_t = alpha_t x1 + sigma_t x0 and their conditional velocities.

Convention (the only one in this package): t = 0 is the source, t = 1 is the data.
A schedule is a small frozen dataclass giving alpha_t, sigma_t and their time derivatives;
`AffinePath` turns a schedule into training pairs and converts between the three prediction
targets (velocity, data x1, noise x0).

References: Lipman et al., "Flow Matching for Generative Modeling" (2023); Liu et al.,
"Flow Straight and Fast" (2023); Song et al., "Score-Based Generative Modeling through SDEs"
(2021) for the VP/VE schedules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError


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


def make_schedule(name: str, **kwargs) -> Schedule:
    """Build a schedule by name; kwargs that the schedule does not take are ignored."""
    if name not in SCHEDULES:
        raise FlowmatchError(f"unknown path {name!r}; choose one of {', '.join(SCHEDULES)}")
    cls = SCHEDULES[name]
    fields = cls.__dataclass_fields__
    return cls(**{k: v for k, v in kwargs.items() if k in fields and v is not None})


@dataclass(frozen=True)
class PathSample:
    """A point on the path. x0, x1, x_t, velocity: (B, *D); t: (B,)."""

    t: Tensor
    x0: Tensor
    x1: Tensor
    x_t: Tensor
    velocity: Tensor


def _expand(t: Tensor, like: Tensor) -> Tensor:
    """(B,) -> (B, 1, ..., 1) to broadcast against like: (B, *D)."""
    return t.reshape(t.shape[0], *([1] * (like.dim() - 1)))


@dataclass(frozen=True)
class AffinePath:
    """x_t = alpha_t x1 + sigma_t x0 for a `Schedule`."""

    schedule: Schedule

    def values(self, t: Tensor, like: Tensor) -> ScheduleValues:
        """Schedule values at t: (B,), shaped to broadcast against like: (B, *D)."""
        v = self.schedule(t)
        return ScheduleValues(*(_expand(a, like) for a in (v.alpha, v.sigma, v.d_alpha, v.d_sigma)))

    def sample(self, x0: Tensor, x1: Tensor, t: Tensor) -> PathSample:
        """Training pair: x_t and the target velocity alpha_t' x1 + sigma_t' x0."""
        v = self.values(t, x1)
        return PathSample(t, x0, x1, v.alpha * x1 + v.sigma * x0, v.d_alpha * x1 + v.d_sigma * x0)

    def conditional_velocity(self, x: Tensor, x1: Tensor, t: Tensor) -> Tensor:
        """u_t(x | x1) = (sigma_t' / sigma_t) (x - alpha_t x1) + alpha_t' x1."""
        v = self.values(t, x)
        return v.d_sigma / v.sigma * (x - v.alpha * x1) + v.d_alpha * x1

    # Conversions between prediction targets. With x_t = a x1 + s x0 and u = a' x1 + s' x0,
    # the 2x2 system has determinant a' s - s' a, non-zero inside (0, 1) for our schedules.
    def velocity_to_x1(self, velocity: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """x1 = (s u - s' x_t) / (a' s - s' a)."""
        v = self.values(t, x_t)
        return (v.sigma * velocity - v.d_sigma * x_t) / (v.d_alpha * v.sigma - v.d_sigma * v.alpha)

    def velocity_to_x0(self, velocity: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """x0 = (a' x_t - a u) / (a' s - s' a)."""
        v = self.values(t, x_t)
        return (v.d_alpha * x_t - v.alpha * velocity) / (v.d_alpha * v.sigma - v.d_sigma * v.alpha)

    def x1_to_velocity(self, x1: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """u = a' x1 + s' (x_t - a x1) / s."""
        v = self.values(t, x_t)
        return v.d_alpha * x1 + v.d_sigma * (x_t - v.alpha * x1) / v.sigma

    def x0_to_velocity(self, x0: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """u = a' (x_t - s x0) / a + s' x0."""
        v = self.values(t, x_t)
        return v.d_alpha * (x_t - v.sigma * x0) / v.alpha + v.d_sigma * x0

    def x1_to_x0(self, x1: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """x0 = (x_t - a x1) / s."""
        v = self.values(t, x_t)
        return (x_t - v.alpha * x1) / v.sigma

    def x0_to_x1(self, x0: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """x1 = (x_t - s x0) / a."""
        v = self.values(t, x_t)
        return (x_t - v.sigma * x0) / v.alpha


def make_path(name: str = "condot", **kwargs) -> AffinePath:
    """`AffinePath` over the schedule called `name` (see `SCHEDULES`)."""
    return AffinePath(make_schedule(name, **kwargs))
