"""Time and class embeddings shared by every velocity network.

The null-class convention of classifier-free guidance lives here, once: labels run over
0..num_classes-1, index `num_classes` is the null class, and y=None means the null class.

Reference: Vaswani et al. (2017), as used for diffusion time steps by Ho et al. (2020).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from flowmatch.errors import FlowmatchError


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10000.0, scale: float = 1000.0) -> Tensor:
    """(B,) times in [0, 1] -> (B, dim) features [cos(w_k scale t), sin(w_k scale t)].

    Times are scaled (by 1000 by default) so that the slowest frequencies still vary across [0, 1].
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = scale * t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb.to(t.dtype) if t.is_floating_point() else emb


# The time scale of an average-velocity model's embeddings. MeanFlow trains on d/dt of the network,
# and at the default scale (frequencies up to 1000 per unit time) that derivative is so large that
# training diverged on moons; scale 1 (slow features, smooth in t) trained best of 1, 10, 100
# (docs/benchmarks/index.md, "Defaults and the figures behind them").
MEAN_FLOW_TIME_SCALE = 1.0


class TimeEmbedding(nn.Module):
    """Sinusoidal features followed by a small MLP: (B,) -> (B, out_dim)."""

    def __init__(self, freq_dim: int, out_dim: int, scale: float = 1000.0):
        super().__init__()
        self.freq_dim, self.scale = freq_dim, scale
        self.mlp = nn.Sequential(nn.Linear(freq_dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, t: Tensor) -> Tensor:
        return self.mlp(sinusoidal_embedding(t, self.freq_dim, scale=self.scale).to(self.mlp[0].weight.dtype))


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


def interval_embedding(embed: nn.Module | None, h: Tensor | None, t: Tensor) -> Tensor | float:
    """The embedding of the interval h: (B,) of an average-velocity model, or 0 for a plain one.

    h = None means h = 0: the average over an empty interval is the velocity at t. A plain model
    given an interval refuses it rather than ignoring it.
    """
    if embed is None:
        if h is not None:
            raise FlowmatchError("this model predicts velocities, not average velocities over an interval (train it with --objective meanflow)")
        return 0.0
    return embed(torch.zeros_like(t) if h is None else h.to(t.dtype))


# The sinusoidal scale of a guidance-weight embedding: weights run over a few units (0 to 4, say),
# so the fastest features turn 10 radians per unit and the model reads between trained weights.
GUIDANCE_SCALE = 10.0


def guidance_embedding(embed: nn.Module | None, guidance: Tensor | None, t: Tensor) -> Tensor | float:
    """The embedding of the guidance weight w: (B,) of a guidance-distilled model, or 0 for a plain one.

    guidance = None means w = 1 (plainly conditional). A plain model given a weight refuses it:
    its guidance is applied at sampling, by `flowmatch.guidance.GuidedVelocity`.
    """
    if embed is None:
        if guidance is not None:
            raise FlowmatchError("this model takes no guidance weight as input (its guidance is applied at sampling)")
        return 0.0
    return embed(torch.ones_like(t) if guidance is None else guidance.to(t.dtype))


def time_scale(mean_flow: bool, scale: float = 0.0) -> float:
    """The sinusoidal time scale of a model's embeddings: `scale` when > 0, else MEAN_FLOW_TIME_SCALE
    for an average-velocity model and 1000 for a velocity model. A model distilled from a velocity
    model keeps 1000: its time features are the teacher's (no derivative in t is trained on)."""
    if scale > 0:
        return scale
    return MEAN_FLOW_TIME_SCALE if mean_flow else 1000.0
