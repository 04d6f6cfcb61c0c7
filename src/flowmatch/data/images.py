"""Labelled image data sets: MNIST, Fashion-MNIST, CIFAR-10, scikit-learn digits, image folders.

Every set becomes an `ImageData`: uint8 images (N, C, H, W) and int64 labels (N,), drawn with
replacement and scaled to [-1, 1] per batch (x = u / 127.5 - 1), with optional horizontal flips.
Files are read from `data_dir` (or `data_dir/<name>`) by `flowmatch.data.image_files`;
`download=True` fetches the original files first (`flowmatch.data.download`).

References: LeCun et al. (1998) MNIST and its IDX format; Xiao et al. (2017) Fashion-MNIST;
Krizhevsky (2009) CIFAR-10 python batches; scikit-learn's `load_digits` (UCI optical digits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from flowmatch.data.download import REMOTES, download
from flowmatch.data.image_files import load_cifar10, load_digits_set, load_idx_set, load_image_folder, read_idx
from flowmatch.data.sources import Batch, DataSource
from flowmatch.errors import FlowmatchError

IMAGE_SETS = ("mnist", "fashion-mnist", "cifar10", "digits")
SPLITS = ("train", "test")
MIN_SIZE, MAX_SIZE = 4, 512
FOLDER_DEFAULT_SIZE = 32


class ImageData(DataSource):
    """A finite labelled image set; `sample(n, g)` draws with replacement -> Batch(x, y).

    images: (N, C, H, W) uint8; labels: (N,) int64 in [0, num_classes); x in [-1, 1].
    """

    def __init__(self, images: np.ndarray | Tensor, labels: np.ndarray | Tensor, num_classes: int, name: str = "images", hflip: bool = False, classes: list[str] | None = None):
        self.images = torch.as_tensor(np.ascontiguousarray(images) if isinstance(images, np.ndarray) else images)
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64) if isinstance(labels, np.ndarray) else labels).long()
        if self.images.ndim != 4 or self.images.dtype != torch.uint8:
            raise FlowmatchError(f"{name}: images must be uint8 of shape (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.images) == 0 or len(self.images) != len(self.labels):
            raise FlowmatchError(f"{name}: {len(self.images)} images but {len(self.labels)} labels")
        self.name, self.hflip, self.num_classes = name, hflip, int(num_classes)
        self.shape = tuple(self.images.shape[1:])
        self.classes = classes or [str(i) for i in range(self.num_classes)]

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, n: int, generator: torch.Generator):
        idx = torch.randint(len(self.images), (n,), generator=generator)
        x = self.images[idx].float() / 127.5 - 1.0
        if self.hflip:
            flip = torch.rand(n, generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return Batch(x, self.labels[idx])

    def all(self) -> tuple[Tensor, Tensor]:
        """Every image in [-1, 1] (N, C, H, W) float32 and its label (N,)."""
        return self.images.float() / 127.5 - 1.0, self.labels


# -- sizes -----------------------------------------------------------------------------------
def check_image_size(size: int) -> int:
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise FlowmatchError(f"--image-size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    return int(size)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """(N, C, h, w) uint8 -> (N, C, size, size) uint8: bilinear (antialiased) resize of the
    shorter side to `size`, then a centre crop."""
    n, c, h, w = images.shape
    if h == size and w == size:
        return images
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = torch.from_numpy(images).float()
    x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[:, :, top : top + size, left : left + size]
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


# -- the entry point -------------------------------------------------------------------------
def is_image_spec(spec: str) -> bool:
    return spec in IMAGE_SETS or Path(spec).is_dir()


def load_images(spec: str, data_dir: str | Path = "data", image_size: int = 0, download_files: bool = False, hflip: bool = False, split: str = "train") -> ImageData:
    """A named image set or an image folder -> ImageData (resized to image_size when > 0)."""
    if split not in SPLITS:
        raise FlowmatchError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if image_size:
        check_image_size(image_size)
    data_dir = Path(data_dir)
    classes = None
    if spec in ("mnist", "fashion-mnist", "cifar10"):
        if download_files:
            data_dir = download(spec, data_dir)
        elif not data_dir.is_dir():
            raise FlowmatchError(f"--data-dir {data_dir} does not exist (put the {spec} files there, or pass --download)")
        images, labels = load_cifar10(data_dir, split) if spec == "cifar10" else load_idx_set(spec, data_dir, split)
        num_classes = 10
    elif spec == "digits":
        images, labels = load_digits_set(split)
        num_classes = 10
    elif Path(spec).is_dir():
        images, labels, classes = load_image_folder(Path(spec), image_size or FOLDER_DEFAULT_SIZE)
        num_classes = len(classes)
    else:
        raise FlowmatchError(f"unknown image data {spec!r}: use one of {', '.join(IMAGE_SETS)} or a folder of class sub-folders")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise FlowmatchError(f"{spec}: labels must be in 0..{num_classes - 1}, found {labels.min()}..{labels.max()}")
    if image_size:
        images = resize_images(images, image_size)
    return ImageData(images, labels, num_classes, name=spec, hflip=hflip, classes=classes)


__all__ = ["IMAGE_SETS", "REMOTES", "ImageData", "check_image_size", "download", "is_image_spec", "load_images", "read_idx", "resize_images"]
