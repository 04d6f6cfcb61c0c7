"""diffusers' `UNet2DModel` as a velocity network v(x, t, y=None) (optional extra `diffusers`).

The wrapped network keeps diffusers' flow-matching conventions on the inside, so that its
`unet` can be saved with `save_pretrained` and driven by diffusers' own
`FlowMatchEulerDiscreteScheduler` without any change:

    v(x, t, y) = -unet(x, timestep=(1 - t) * num_train_timesteps, class_labels=y).sample

- time: our t (0 = noise, 1 = data) becomes diffusers' sigma = 1 - t, scaled to its timestep
  range [0, num_train_timesteps] (1000), where the UNet's sinusoidal embedding expects it;
- sign: diffusers' flow models predict dx/dsigma = noise - data = -v, hence the minus.

Class conditioning uses the UNet's `num_class_embeds` table with num_classes + 1 rows; row
`num_classes` is the null class of classifier-free guidance, used when y is None.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from flowmatch.errors import FlowmatchError
from flowmatch.models.embeddings import null_labels


def _import_unet():
    try:
        from diffusers import UNet2DModel
    except ImportError:
        raise FlowmatchError("model 'diffusers-unet' needs the optional extra: pip install 'flowmatch[diffusers]'") from None
    return UNet2DModel


class DiffusersUNetVelocity(nn.Module):
    """x: (B, C, H, W), t: (B,), optional y: (B,) -> velocity (B, C, H, W).

    `widths[i]` channels at resolution level i (len(widths) - 1 downsamplings, so H and W must
    be divisible by 2^(len(widths) - 1)); self-attention at the lowest resolution; GroupNorm
    with gcd(widths, 32) groups so that small widths work.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        widths: tuple[int, ...] = (64, 128, 128),
        layers_per_block: int = 2,
        num_classes: int = 0,
        num_train_timesteps: int = 1000,
        dropout: float = 0.0,
    ):
        super().__init__()
        c, h, w = shape
        if not widths or min(widths) < 1:
            raise FlowmatchError(f"diffusers-unet needs at least one level of >= 1 channels, got {tuple(widths)}")
        factor = 2 ** (len(widths) - 1)
        if h % factor or w % factor:
            raise FlowmatchError(f"diffusers-unet with {len(widths)} levels needs image sides divisible by {factor}, got {h}x{w}")
        unet_cls = _import_unet()
        levels = len(widths)
        down = ("DownBlock2D",) * (levels - 1) + ("AttnDownBlock2D",)
        up = ("AttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1)
        self.num_classes = num_classes
        self.num_train_timesteps = num_train_timesteps
        self.unet = unet_cls(
            sample_size=(h, w),
            in_channels=c,
            out_channels=c,
            block_out_channels=tuple(widths),
            down_block_types=down,
            up_block_types=up,
            layers_per_block=layers_per_block,
            norm_num_groups=math.gcd(32, *widths),
            attention_head_dim=min(8, widths[-1]),
            dropout=dropout,
            num_class_embeds=num_classes + 1 if num_classes else None,
        )

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        timestep = (1 - t) * self.num_train_timesteps
        labels = None
        if self.num_classes:
            labels = y if y is not None else null_labels(x.shape[0], self.num_classes, x.device)
        return -self.unet(x, timestep, class_labels=labels).sample


__all__ = ["DiffusersUNetVelocity"]
