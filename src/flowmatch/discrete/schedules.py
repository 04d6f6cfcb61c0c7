"""Schedules kappa_t of mixture paths over tokens: the probability that a token already shows its data value.

Each schedule is convex in the sense of the mixture (kappa_0 = 0, kappa_1 = 1, increasing) and
knows its derivative and its inverse (the time at which kappa reaches a value), which the
likelihood bound and the sampler's steps in kappa use.

Reference: Gat et al., "Discrete Flow Matching" (2024), section 2 (convex interpolants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError

KAPPA_SCHEDULES = ("polynomial", "linear", "cosine")


class KappaSchedule:
    """Base class: `kappa(t)`, `d_kappa(t)` and `inverse(k)` elementwise on tensors of any shape."""

    def kappa(self, t: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def d_kappa(self, t: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def inverse(self, k: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class PolynomialKappa(KappaSchedule):
    """kappa_t = t^n (n = 1: the linear schedule)."""

    n: float = 1.0

    def __post_init__(self):
        if not (math.isfinite(self.n) and self.n > 0):
            raise FlowmatchError(f"the polynomial schedule's power must be a positive number, got {self.n}")

    def kappa(self, t: Tensor) -> Tensor:
        return t.clamp(0.0, 1.0) ** self.n

    def d_kappa(self, t: Tensor) -> Tensor:
        return self.n * t.clamp(0.0, 1.0) ** (self.n - 1)

    def inverse(self, k: Tensor) -> Tensor:
        return k.clamp(0.0, 1.0) ** (1.0 / self.n)


@dataclass(frozen=True)
class CosineKappa(KappaSchedule):
    """kappa_t = 1 - cos(pi t / 2): the weight of the source falls as the continuous cosine path's sigma_t."""

    def kappa(self, t: Tensor) -> Tensor:
        return 1.0 - torch.cos(0.5 * math.pi * t.clamp(0.0, 1.0))

    def d_kappa(self, t: Tensor) -> Tensor:
        return 0.5 * math.pi * torch.sin(0.5 * math.pi * t.clamp(0.0, 1.0))

    def inverse(self, k: Tensor) -> Tensor:
        return torch.arccos(1.0 - k.clamp(0.0, 1.0)) * (2.0 / math.pi)


def make_kappa(name: str, power: float = 2.0) -> KappaSchedule:
    """The schedule `name` from KAPPA_SCHEDULES; `power` is n of the polynomial t^n."""
    if name == "polynomial":
        return PolynomialKappa(float(power))
    if name == "linear":
        return PolynomialKappa(1.0)
    if name == "cosine":
        return CosineKappa()
    raise FlowmatchError(f"unknown kappa schedule {name!r}; choose one of {', '.join(KAPPA_SCHEDULES)}")
