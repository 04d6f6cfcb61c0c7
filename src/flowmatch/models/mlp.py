"""MLP velocity network for D-dimensional points: v(x, t, y=None) -> (B, D)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowmatch.models.embeddings import ClassEmbedding, TimeEmbedding, interval_embedding, time_scale


class MLPVelocity(nn.Module):
    """x: (B, D), t: (B,), optional class labels y: (B,) -> velocity (B, D).

    The time embedding (and a class embedding, with index `num_classes` as the null class for
    classifier-free guidance) is concatenated to the input; `depth` hidden layers of `hidden`
    units with SiLU activations follow. With mean_flow=True it also takes the interval h: (B,)
    and models the average velocity over [t, t + h] (h = 0 or None: the velocity at t).
    """

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, time_dim: int = 32, num_classes: int = 0, mean_flow: bool = False):
        super().__init__()
        self.dim, self.num_classes = dim, num_classes
        self.time_embed = TimeEmbedding(time_dim, time_dim, scale=time_scale(mean_flow))
        # mean_flow: a second time input, the interval h, for an average-velocity model u(x, t, h)
        self.interval_embed = TimeEmbedding(time_dim, time_dim, scale=time_scale(mean_flow)) if mean_flow else None
        self.class_embed = ClassEmbedding(num_classes, time_dim) if num_classes else None
        layers: list[nn.Module] = []
        width = dim + time_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None, h: Tensor | None = None) -> Tensor:
        emb = self.time_embed(t) + interval_embedding(self.interval_embed, h, t)
        if self.class_embed is not None:
            emb = emb + self.class_embed(y, x.shape[0])
        return self.net(torch.cat([x, emb.to(x.dtype)], dim=-1))
