"""Time and class embeddings shared by every velocity network.

The null-class convention of classifier-free guidance lives here, once: labels run over
0..num_classes-1, index `num_classes` is the null class, and y=None means the null class.

Reference: Vaswani et al. (2017), as used for diffusion time steps by Ho et al. (2020).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """(B,) times in [0, 1] -> (B, dim) features [cos(w_k 1000 t), sin(w_k 1000 t)].

    Times are scaled by 1000 so that the slowest frequencies still vary across [0, 1].
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb.to(t.dtype) if t.is_floating_point() else emb


class TimeEmbedding(nn.Module):
    """Sinusoidal features followed by a small MLP: (B,) -> (B, out_dim)."""

    def __init__(self, freq_dim: int, out_dim: int):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, t: Tensor) -> Tensor:
        return self.mlp(sinusoidal_embedding(t, self.freq_dim).to(self.mlp[0].weight.dtype))


def null_labels(n: int, num_classes: int, device: torch.device | str = "cpu") -> Tensor:
    """(n,) labels all equal to the null class index `num_classes`."""
    return torch.full((n,), num_classes, dtype=torch.long, device=device)


class ClassEmbedding(nn.Embedding):
    """y: (B,) labels in 0..num_classes (the last is the null class), or None -> (B, dim)."""

    def __init__(self, num_classes: int, dim: int):
        super().__init__(num_classes + 1, dim)
        self.num_classes = num_classes

    def forward(self, y: Tensor | None, batch: int | None = None) -> Tensor:
        if y is None:  # unconditional: the null class
            y = null_labels(batch, self.num_classes, self.weight.device)
        return super().forward(y)
