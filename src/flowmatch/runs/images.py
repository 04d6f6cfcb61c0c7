"""Image grids as PNG files: samples (N, C, H, W) in [-1, 1] laid out in rows of `ncol`."""

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
