"""A plain convolutional velocity network, the basic image baseline: v(x, t, y=None).

Time enters as one extra constant input channel (and a class embedding, with `num_classes`
as the null class, as a few more); a few 3x3 convolutions with SiLU keep the spatial size.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowmatch.models.embeddings import ClassEmbedding


class SimpleCNNVelocity(nn.Module):
    """x: (B, C, H, W), t: (B,), y: (B,) or None -> velocity (B, C, H, W)."""

    def __init__(self, in_channels: int, channels: int = 64, depth: int = 4, num_classes: int = 0, class_dim: int = 4):
        super().__init__()
        self.num_classes = num_classes
        # a few learned numbers per class (null class included), each broadcast as a channel
        self.class_embed = ClassEmbedding(num_classes, class_dim) if num_classes else None
        extra = 1 + (class_dim if num_classes else 0)
        layers: list[nn.Module] = []
        width = in_channels + extra
        for _ in range(depth):
            layers += [nn.Conv2d(width, channels, 3, padding=1), nn.SiLU()]
            width = channels
        layers.append(nn.Conv2d(width, in_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        b, _, h, w = x.shape
        planes = [x, t.to(x.dtype)[:, None, None, None].expand(b, 1, h, w)]
        if self.class_embed is not None:
            planes.append(self.class_embed(y, b).to(x.dtype)[:, :, None, None].expand(-1, -1, h, w))
        return self.net(torch.cat(planes, dim=1))
