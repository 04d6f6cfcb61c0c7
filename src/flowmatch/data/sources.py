"""Data sources: every source draws batches with `sample(n, generator) -> Batch`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from flowmatch.data.points import validate_conditions, validate_labels, validate_points
from flowmatch.data.toy import toy_sample
from flowmatch.errors import FlowmatchError


@dataclass(frozen=True)
class Batch:
    """x: (B, *D) samples; y: (B,) integer class labels or None; c: (B, K) continuous conditions or None."""

    x: Tensor
    y: Tensor | None = None
    c: Tensor | None = None


def _numpy_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator seeded from (and advancing) the torch generator, for reproducibility."""
    return np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))


class DataSource:
    """Interface: `shape` (per-sample shape), `num_classes` (0 if unlabelled), `cond_dim` (K, the
    number of continuous conditions per sample; 0 if none), `sample`."""

    shape: tuple[int, ...]
    num_classes: int = 0
    cond_dim: int = 0

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


def _numpy(a: np.ndarray | Tensor) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a)


class ArrayData(DataSource):
    """A finite point cloud (N, D), sampled uniformly with replacement, with its class labels
    (N,) in 0..K-1 and its continuous conditions (N, K) when given (drawn with their points)."""

    def __init__(self, points: np.ndarray | Tensor, name: str = "array", labels: np.ndarray | Tensor | None = None, conditions: np.ndarray | Tensor | None = None):
        self.points = torch.from_numpy(validate_points(_numpy(points), name))
        self.name, self.shape = name, (self.points.shape[1],)
        n = len(self.points)
        self.labels = None if labels is None else torch.from_numpy(validate_labels(_numpy(labels), n, name))
        self.conditions = None if conditions is None else torch.from_numpy(validate_conditions(_numpy(conditions), n, name))
        self.num_classes = 0 if self.labels is None else int(self.labels.max()) + 1
        self.cond_dim = 0 if self.conditions is None else int(self.conditions.shape[1])

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(len(self.points), (n,), generator=generator)
        return Batch(self.points[idx], None if self.labels is None else self.labels[idx], None if self.conditions is None else self.conditions[idx])


def decode(x: Tensor, vocabulary: str) -> list[str]:
    """(B, L) tokens -> B strings."""
    return ["".join(vocabulary[i] for i in row) for row in x.tolist()]


class DataShape(DataSource):
    """The shape, class count and condition size of a trained run's data, where the data themselves
    are not at hand; for token data also the vocabulary's size and, for text, its characters."""

    def __init__(self, shape: tuple[int, ...], num_classes: int, name: str = "data", cond_dim: int = 0, vocab_size: int = 0, vocabulary: str | None = None):
        self.shape, self.num_classes, self.name, self.cond_dim = tuple(shape), int(num_classes), name, int(cond_dim)
        self.vocab_size, self.vocabulary = int(vocab_size), vocabulary

    def decode(self, x: Tensor) -> list[str]:
        """(B, L) tokens of a text run -> B strings."""
        if self.vocabulary is None:
            raise FlowmatchError(f"the data {self.name!r} are not text: save their samples as .npy")
        return decode(x, self.vocabulary)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        raise FlowmatchError(f"the data {self.name!r} are not loaded here (give reference data, e.g. --ref DATA, or load_data({self.name!r}, ...))")
