"""Image grids as PNG files: samples (N, C, H, W) in [-1, 1] laid out in rows of `ncol`; and a
2D point cloud as a picture without matplotlib (for the training loggers)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from torch import Tensor

from flowmatch.fileio import atomic_write


def grid_array(x: Tensor, ncol: int, pad: int = 1) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (rows*(H+pad)+pad, ncol*(W+pad)+pad[, 3]) uint8, row-major."""
    x = x.detach().float().cpu().clamp(-1, 1)
    n, c, h, w = x.shape
    ncol = max(1, min(ncol, n))
    rows = math.ceil(n / ncol)
    u8 = ((x + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, ncol)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = u8[i]
    return grid[..., 0] if c == 1 else grid


def save_image_grid(x: Tensor, path: str | Path, ncol: int = 8, min_cell: int = 32) -> Path:
    """Write a PNG grid; small images are enlarged (nearest) so a cell is >= min_cell pixels."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = max(1, math.ceil(min_cell / x.shape[-1]))
    img = Image.fromarray(grid_array(x, ncol))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    # atomic: readers (e.g. an image viewer during training) never see half a file
    return atomic_write(path, lambda fh: img.save(fh, format="PNG"))


def points_picture(x: Tensor, size: int = 256, margin: float = 0.1) -> np.ndarray:
    """(size, size) uint8: a 2D histogram of x: (N, 2) (its first two coordinates), dark where
    points are dense, on the square that holds 99% of them with a margin; y grows upward."""
    p = x.detach().float().cpu().reshape(len(x), -1)[:, :2].numpy()
    p = p[np.isfinite(p).all(axis=1)]
    if len(p) == 0:
        return np.full((size, size), 255, dtype=np.uint8)
    lo, hi = np.quantile(p, 0.005, axis=0), np.quantile(p, 0.995, axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-6) * (1 + margin)
    counts, _, _ = np.histogram2d(p[:, 1], p[:, 0], bins=size, range=[[centre[1] - half, centre[1] + half], [centre[0] - half, centre[0] + half]])
    shade = np.log1p(counts[::-1])  # rows from the top: y decreasing
    shade = shade / max(float(shade.max()), 1e-12)
    return (255 - np.round(shade * 255)).astype(np.uint8)
