"""Data sources: every source draws batches with `sample(n, generator) -> Batch`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from flowmatch.data.points import validate_points
from flowmatch.data.toy import toy_sample


@dataclass(frozen=True)
class Batch:
    """x: (B, *D) samples; y: (B,) integer class labels or None."""

    x: Tensor
    y: Tensor | None = None


def _numpy_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator seeded from (and advancing) the torch generator, for reproducibility."""
    return np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))


class DataSource:
    """Interface: `shape` (per-sample shape), `num_classes` (0 if unlabelled), `sample`."""

    shape: tuple[int, ...]
    num_classes: int = 0

    def sample(self, n: int, generator: torch.Generator) -> Batch:  # pragma: no cover - interface
        raise NotImplementedError


class GaussianSource(DataSource):
    """N(0, scale^2 I) over samples of the given shape."""

    def __init__(self, shape: tuple[int, ...], scale: float = 1.0):
        self.shape, self.scale = tuple(shape), float(scale)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        return Batch(self.scale * torch.randn((n, *self.shape), generator=generator))


class ToyData(DataSource):
    """A built-in 2D distribution, freshly drawn on every call (an infinite data set)."""

    def __init__(self, name: str):
        self.name, self.shape = name, (2,)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        return Batch(torch.from_numpy(toy_sample(self.name, n, _numpy_rng(generator))))


class ArrayData(DataSource):
    """A finite point cloud (N, D), sampled uniformly with replacement."""

    def __init__(self, points: np.ndarray | Tensor, name: str = "array"):
        arr = points.detach().cpu().numpy() if isinstance(points, Tensor) else np.asarray(points)
        self.points = torch.from_numpy(validate_points(arr, name))
        self.name, self.shape = name, (self.points.shape[1],)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        return Batch(self.points[torch.randint(len(self.points), (n,), generator=generator)])


class DataShape(DataSource):
    """The shape and class count of a trained run's data, where the data themselves are not at hand."""

    def __init__(self, shape: tuple[int, ...], num_classes: int, name: str = "data"):
        self.shape, self.num_classes, self.name = tuple(shape), int(num_classes), name

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        from flowmatch.errors import FlowmatchError

        raise FlowmatchError(f"the data {self.name!r} are not loaded here (give reference data, e.g. --ref DATA, or load_data({self.name!r}, ...))")
