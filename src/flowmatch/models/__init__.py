"""Velocity networks. `build_model(name, data_shape, **options)` picks one by name."""

from __future__ import annotations

from torch import nn

from flowmatch.errors import FlowmatchError
from flowmatch.models.mlp import MLPVelocity

MODELS = ("mlp", "diffusers-unet")


def build_model(name: str, data_shape: tuple[int, ...], num_classes: int = 0, **options) -> nn.Module:
    """A velocity network for samples of shape data_shape, e.g. (D,) or (C, H, W)."""
    if name == "mlp":
        if len(data_shape) != 1:
            raise FlowmatchError(f"model 'mlp' takes points of shape (D,), got data of shape {tuple(data_shape)}")
        keys = ("hidden", "depth", "time_dim")
        return MLPVelocity(data_shape[0], num_classes=num_classes, **{k: options[k] for k in keys if k in options})
    if name == "diffusers-unet":  # optional extra: diffusers is imported only here
        from flowmatch.models.diffusers_unet import build_diffusers_unet

        return build_diffusers_unet(data_shape, num_classes=num_classes, **options)
    raise FlowmatchError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


__all__ = ["MLPVelocity", "build_model", "MODELS"]
