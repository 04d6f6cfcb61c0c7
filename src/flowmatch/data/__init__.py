"""Data sources. Every source draws batches with `sample(n, generator) -> Batch`.

`load_data(spec)` accepts a built-in toy name (see `TOY_SETS`) or a path to a point cloud
(.npy, .npz, .csv of shape (N, D)). `GaussianSource` is the default source distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from flowmatch.data.points import POINT_SUFFIXES, load_points, validate_points
from flowmatch.data.toy import TOY_SETS, toy_sample
from flowmatch.errors import FlowmatchError


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


def load_data(spec: str, *, data_dir: str = "data", image_size: int = 0, download: bool = False, hflip: bool = False, split: str = "train") -> DataSource:
    """A built-in toy name, a point-cloud file path, or an image set / folder -> DataSource.

    The keyword options apply to image data only (see `flowmatch.data.images`).
    """
    from flowmatch.data.images import is_image_spec, load_images  # images (issue 3)

    if is_image_spec(spec):
        return load_images(spec, data_dir=data_dir, image_size=image_size, download_files=download, hflip=hflip, split=split)
    if image_size:
        raise FlowmatchError(f"--image-size applies to image data only, not {spec!r}")
    if spec in TOY_SETS:
        return ToyData(spec)
    if Path(spec).suffix in POINT_SUFFIXES or Path(spec).exists():
        return ArrayData(load_points(spec), name=spec)
    raise FlowmatchError(
        f"unknown data {spec!r}: use one of {', '.join(TOY_SETS)}, an image set (mnist, fashion-mnist, cifar10, digits), an image folder, or a .npy/.npz/.csv file of shape (N, D)"
    )


__all__ = ["Batch", "DataSource", "GaussianSource", "ToyData", "ArrayData", "load_data", "TOY_SETS"]
