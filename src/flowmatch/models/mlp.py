"""MLP velocity network for D-dimensional points: v(x, t, y=None, c=None) -> (B, D)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowmatch.errors import FlowmatchError
from flowmatch.models.embeddings import GUIDANCE_SCALE, ClassEmbedding, TimeEmbedding, guidance_embedding, interval_embedding, time_scale


class MLPVelocity(nn.Module):
    """x: (B, D), t: (B,), optional class labels y: (B,) and conditions c: (B, K) -> velocity (B, D).

    The time embedding (and a class embedding, with index `num_classes` as the null class for
    classifier-free guidance) is concatenated to the input, and so are the `cond_dim` continuous
    conditions c when the network has them; `depth` hidden layers of `hidden` units with SiLU
    activations follow. With mean_flow=True it also takes the interval h: (B,) and models the
    average velocity over [t, t + h] (h = 0 or None: the velocity at t). With guidance_input=True
    it also takes the guidance weight w: (B,) of a student distilled from guided paths. With
    fourier_features = K > 0 the input x is joined by sin(x B) and cos(x B), B: (D, K) drawn once
    from N(0, fourier_scale^2) and kept with the weights (Tancik et al., "Fourier Features Let
    Networks Learn High Frequency Functions in Low Dimensional Domains", 2020): sharp densities
    need high frequencies, which a plain MLP learns slowly.
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 128,
        depth: int = 3,
        time_dim: int = 32,
        num_classes: int = 0,
        cond_dim: int = 0,
        mean_flow: bool = False,
        embed_scale: float = 0.0,
        guidance_input: bool = False,
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
    ):
        super().__init__()
        self.dim, self.num_classes, self.cond_dim = dim, num_classes, cond_dim
        self.time_embed = TimeEmbedding(time_dim, time_dim, scale=time_scale(mean_flow, embed_scale))
        # mean_flow: a second time input, the interval h, for an average-velocity model u(x, t, h)
        self.interval_embed = TimeEmbedding(time_dim, time_dim, scale=time_scale(mean_flow, embed_scale)) if mean_flow else None
        self.class_embed = ClassEmbedding(num_classes, time_dim) if num_classes else None
        # guidance_input: the guidance weight w as an input, for a student distilled from guided paths
        self.guidance_embed = TimeEmbedding(time_dim, time_dim, scale=GUIDANCE_SCALE) if guidance_input else None
        if fourier_features:
            self.register_buffer("fourier", fourier_scale * torch.randn(dim, fourier_features))
        else:
            self.fourier = None
        layers: list[nn.Module] = []
        width = dim + 2 * fourier_features + time_dim + cond_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None, c: Tensor | None = None, h: Tensor | None = None, guidance: Tensor | None = None) -> Tensor:
        emb = self.time_embed(t) + interval_embedding(self.interval_embed, h, t) + guidance_embedding(self.guidance_embed, guidance, t)
        if self.class_embed is not None:
            emb = emb + self.class_embed(y, x.shape[0])
        parts = [x, emb.to(x.dtype)]
        if self.fourier is not None:
            proj = x @ self.fourier.to(x.dtype)
            parts += [torch.sin(proj), torch.cos(proj)]
        if self.cond_dim:
            if c is None or c.shape != (x.shape[0], self.cond_dim):
                got = "none" if c is None else f"shape {tuple(c.shape)}"
                raise FlowmatchError(f"this network is conditioned on {self.cond_dim} continuous value(s) per sample: pass c of shape ({x.shape[0]}, {self.cond_dim}), got {got}")
            parts.append(c.to(x.dtype))
        elif c is not None:
            raise FlowmatchError("this network takes no continuous conditions c (it was trained without them)")
        return self.net(torch.cat(parts, dim=-1))
