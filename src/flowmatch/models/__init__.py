"""Velocity networks. `build_model(name, data_shape, **options)` picks one by name."""

from __future__ import annotations

from torch import nn

from flowmatch.errors import FlowmatchError
from flowmatch.models.mlp import MLPVelocity

MODELS = ("mlp", "unet", "simple-cnn", "diffusers-unet")


def build_model(name: str, data_shape: tuple[int, ...], num_classes: int = 0, **options) -> nn.Module:
    """A velocity network for samples of shape data_shape, e.g. (D,) or (C, H, W)."""
    if name == "mlp":
        if len(data_shape) != 1:
            raise FlowmatchError(f"model 'mlp' takes points of shape (D,), got data of shape {tuple(data_shape)}")
        keys = ("hidden", "depth", "time_dim")
        return MLPVelocity(data_shape[0], num_classes=num_classes, **{k: options[k] for k in keys if k in options})
    if name in ("unet", "simple-cnn"):  # images (issue 3)
        return _build_image_model(name, tuple(data_shape), num_classes, options)
    if name == "diffusers-unet":  # optional extra: diffusers is imported only here
        from flowmatch.models.diffusers_unet import build_diffusers_unet

        return build_diffusers_unet(data_shape, num_classes=num_classes, **options)
    raise FlowmatchError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def parse_ints(text: str | tuple | list, what: str) -> tuple[int, ...]:
    """'1,2,2' (or a list) -> (1, 2, 2); '' or 'none' -> ()."""
    if isinstance(text, (tuple, list)):
        return tuple(int(v) for v in text)
    if str(text).strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise FlowmatchError(f"--{what} must be comma-separated integers like 1,2,2, got {text!r}") from None


def _build_image_model(name: str, shape: tuple[int, ...], num_classes: int, options: dict) -> nn.Module:
    if len(shape) != 3:
        raise FlowmatchError(f"model {name!r} takes images of shape (C, H, W), got data of shape {shape}")
    c, h, w = shape
    if name == "simple-cnn":
        from flowmatch.models.simple_cnn import SimpleCNNVelocity

        return SimpleCNNVelocity(c, channels=int(options.get("channels", 64)), depth=int(options.get("depth", 4)), num_classes=num_classes)
    from flowmatch.models.unet import UNetVelocity

    if h != w:
        raise FlowmatchError(f"model 'unet' takes square images, got {h}x{w}")
    mults = parse_ints(options.get("channel_mults", "1,2,2"), "channel-mults")
    attn = options.get("attn_resolutions", "auto")
    # auto: attention at the coarsest feature map (cheap there, and where global shape forms)
    patch = int(options.get("patch_size", 1))
    attn_res = (h // patch // 2 ** (len(mults) - 1),) if attn == "auto" else parse_ints(attn, "attn-resolutions")
    return UNetVelocity(
        c,
        h,
        channels=int(options.get("channels", 32)),
        channel_mults=mults,
        num_res_blocks=int(options.get("num_res_blocks", 1)),
        attn_resolutions=attn_res,
        dropout=float(options.get("dropout", 0.0)),
        num_classes=num_classes,
        patch=patch,
    )


__all__ = ["MLPVelocity", "build_model", "MODELS", "parse_ints"]
