"""Affine probability paths x_t = alpha_t x1 + sigma_t x0 and their conditional velocities.

`AffinePath` turns a `Schedule` into training pairs (`PathSample`) and converts between the
three prediction targets (velocity, data x1, noise x0).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from flowmatch.paths.schedules import Schedule, ScheduleValues, make_schedule


@dataclass(frozen=True)
class PathSample:
    """A point on the path. x0, x1, x_t, velocity: (B, *D); t: (B,). A stochastic path (the
    bridge) also gives the noise it drew and the conditional score, (B, *D); affine paths: None."""

    t: Tensor
    x0: Tensor
    x1: Tensor
    x_t: Tensor
    velocity: Tensor
    noise: Tensor | None = None
    score: Tensor | None = None


def _expand(t: Tensor, like: Tensor) -> Tensor:
    """(B,) -> (B, 1, ..., 1) to broadcast against like: (B, *D)."""
    return t.reshape(t.shape[0], *([1] * (like.dim() - 1)))


@dataclass(frozen=True)
class AffinePath:
    """x_t = alpha_t x1 + sigma_t x0 for a `Schedule`."""

    schedule: Schedule

    @property
    def source_scale(self) -> float:
        """sigma_0 of the schedule: the standard deviation of the Gaussian source the path starts from."""
        return self.schedule.source_scale

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

    def velocity_to_score(self, velocity: Tensor, x_t: Tensor, t: Tensor, source_scale: float = 1.0) -> Tensor:
        """grad_x log p_t(x_t) from the marginal velocity, for a Gaussian source N(0, source_scale^2 I).

        p_t(x | x1) = N(alpha_t x1, (sigma_t s)^2 I), so the score is -E[x0 | x_t] / (sigma_t s^2),
        with E[x0 | x_t] = `velocity_to_x0` of the marginal velocity (x0 in the path's units).
        """
        v = self.values(t, x_t)
        return -self.velocity_to_x0(velocity, x_t, t) / (v.sigma * source_scale**2)

    def x1_to_x0(self, x1: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """x0 = (x_t - a x1) / s."""
        v = self.values(t, x_t)
        return (x_t - v.alpha * x1) / v.sigma

    def x0_to_x1(self, x0: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """x1 = (x_t - s x0) / a."""
        v = self.values(t, x_t)
        return (x_t - v.sigma * x0) / v.alpha


def make_path(name: str = "condot", **params: float | None) -> AffinePath:
    """`AffinePath` over the schedule called `name` (see `make_schedule` for `params`)."""
    return AffinePath(make_schedule(name, **params))
