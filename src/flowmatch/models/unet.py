"""U-Net velocity network for images: v(x, t, y=None) with x: (B, C, H, W) -> (B, C, H, W).

Residual blocks with GroupNorm and SiLU, the time (plus class) embedding added inside every
block, self-attention at chosen resolutions, stride-2 downsampling and nearest upsampling with
skip connections. Class labels y: (B,) index a learned embedding whose extra row
`num_classes` is the null class used by classifier-free guidance (y=None means null).

Reference: Ronneberger et al. (2015) U-Net; the diffusion variant of Ho et al. (2020) and
Dhariwal & Nichol (2021).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from flowmatch.errors import FlowmatchError
from flowmatch.models.embeddings import GUIDANCE_SCALE, ClassEmbedding, TimeEmbedding, guidance_embedding, interval_embedding, time_scale


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in fp32 and returned in the input's dtype.

    Autocast runs group_norm in fp32 anyway; casting here, by ordinary ops, matters for
    forward-mode AD (MeanFlow's JVP): autocast's own cast of a bf16 dual tensor leaves its
    tangent in the wrong dtype and the next bf16 convolution fails (torch 2.13).
    """

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.float()).to(x.dtype)


def _norm(channels: int) -> nn.GroupNorm:
    # GroupNorm needs a group count that divides the channels: 32 (as usual), else 8, else 1.
    return GroupNorm32(next(g for g in (32, 8, 4, 1) if channels % g == 0), channels)


class ResBlock(nn.Module):
    """x + conv(SiLU(GN(conv(SiLU(GN(x))) + W emb))), with a 1x1 skip when channels change."""

    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2, self.drop, self.conv2 = _norm(cout), nn.Dropout(dropout), nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None].to(h.dtype)
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over the H*W positions, residual: x + proj(softmax(qk^T/sqrt d) v)."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        self.heads = heads if channels % heads == 0 else 1
        self.norm, self.qkv, self.proj = _norm(channels), nn.Conv2d(channels, 3 * channels, 1), nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor, emb: Tensor | None = None) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, HW, c/heads)
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class UNetVelocity(nn.Module):
    """x: (B, C, H, W), t: (B,), y: (B,) or None -> velocity (B, C, H, W); with mean_flow=True also
    h: (B,), and the output is the average velocity over [t, t + h] (MeanFlow).

    `channel_mults` gives one resolution level each (H halves between levels), so H and W must
    be divisible by 2^(levels - 1); `attn_resolutions` lists the feature-map sizes (e.g. 7 or
    14 for 28x28 inputs) that get self-attention after each residual block.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        channels: int = 32,
        channel_mults: tuple[int, ...] = (1, 2, 2),
        num_res_blocks: int = 1,
        attn_resolutions: tuple[int, ...] = (),
        dropout: float = 0.0,
        num_classes: int = 0,
        heads: int = 4,
        patch: int = 1,
        mean_flow: bool = False,
        embed_scale: float = 0.0,
        guidance_input: bool = False,
    ):
        # long: the network is built here stage by stage (stem, down path, middle, up path, head)
        super().__init__()
        levels = len(channel_mults)
        if patch < 1 or image_size % patch:
            raise FlowmatchError(f"unet patch size {patch} must divide the image size {image_size}")
        # patch > 1: space-to-depth first (C, H, W) -> (C p^2, H/p, W/p), 1/p^2 of the compute
        self.patch = patch
        out_channels = in_channels
        in_channels, image_size = in_channels * patch * patch, image_size // patch
        if levels < 1 or channels < 1 or num_res_blocks < 1:
            raise FlowmatchError("unet needs channels >= 1, at least one channel multiplier and num-res-blocks >= 1")
        if image_size % (2 ** (levels - 1)):
            raise FlowmatchError(f"unet with {levels} resolution levels needs an image size divisible by {2 ** (levels - 1) * patch}, got {image_size * patch}; change --image-size or --channel-mults")
        self.num_classes = num_classes
        emb_dim = 4 * channels
        self.time_embed = TimeEmbedding(channels, emb_dim, scale=time_scale(mean_flow, embed_scale))
        # mean_flow: a second time input, the interval h, for an average-velocity model u(x, t, h)
        self.interval_embed = TimeEmbedding(channels, emb_dim, scale=time_scale(mean_flow, embed_scale)) if mean_flow else None
        self.class_embed = ClassEmbedding(num_classes, emb_dim) if num_classes else None
        # guidance_input: the guidance weight w as an input, for a student distilled from guided paths
        self.guidance_embed = TimeEmbedding(channels, emb_dim, scale=GUIDANCE_SCALE) if guidance_input else None
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1)

        self.down = nn.ModuleList()
        skips, ch, res = [channels], channels, image_size
        for i, mult in enumerate(channel_mults):
            for _ in range(num_res_blocks):
                block = nn.ModuleList([ResBlock(ch, channels * mult, emb_dim, dropout)])
                ch = channels * mult
                if res in attn_resolutions:
                    block.append(Attention(ch, heads))
                self.down.append(block)
                skips.append(ch)
            if i < levels - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(ch, ch, 3, stride=2, padding=1)]))
                skips.append(ch)
                res //= 2
        self.mid = nn.ModuleList([ResBlock(ch, ch, emb_dim, dropout), Attention(ch, heads), ResBlock(ch, ch, emb_dim, dropout)])
        self.up = nn.ModuleList()
        for i, mult in reversed(list(enumerate(channel_mults))):
            for _ in range(num_res_blocks + 1):
                block = nn.ModuleList([ResBlock(ch + skips.pop(), channels * mult, emb_dim, dropout)])
                ch = channels * mult
                if res in attn_resolutions:
                    block.append(Attention(ch, heads))
                self.up.append(block)
            if i > 0:
                self.up.append(nn.ModuleList([nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, ch, 3, padding=1)]))
                res *= 2
        self.out_norm, self.out = _norm(ch), nn.Conv2d(ch, out_channels * patch * patch, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def embed(self, t: Tensor, y: Tensor | None, batch: int, h: Tensor | None = None, guidance: Tensor | None = None) -> Tensor:
        emb = self.time_embed(t) + interval_embedding(self.interval_embed, h, t) + guidance_embedding(self.guidance_embed, guidance, t)
        if self.class_embed is not None:
            emb = emb + self.class_embed(y, batch)
        return F.silu(emb)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None, h: Tensor | None = None, guidance: Tensor | None = None) -> Tensor:
        emb = self.embed(t, y, x.shape[0], h, guidance)
        if self.patch > 1:
            x = F.pixel_unshuffle(x, self.patch)
        h = self.stem(x)
        hs = [h]
        for block in self.down:
            h = _apply(block, h, emb)
            hs.append(h)
        h = _apply(self.mid, h, emb)
        for block in self.up:
            if isinstance(block[0], ResBlock):
                h = torch.cat([h, hs.pop()], dim=1)
            h = _apply(block, h, emb)
        out = self.out(F.silu(self.out_norm(h)))
        return F.pixel_shuffle(out, self.patch) if self.patch > 1 else out


def _apply(block: nn.ModuleList, h: Tensor, emb: Tensor) -> Tensor:
    for layer in block:
        h = layer(h, emb) if isinstance(layer, (ResBlock, Attention)) else layer(h)
    return h
