"""Options of each velocity architecture, and `build_model`, which makes a network by name.

An option that several architectures share (`channels`, `depth`, ...) is declared once here
(one default, one help text) and used by each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from flowmatch.errors import FlowmatchError
from flowmatch.models.diffusers_unet import DiffusersUNetVelocity  # imports diffusers (an optional extra) only when built
from flowmatch.models.mlp import MLPVelocity
from flowmatch.models.simple_cnn import SimpleCNNVelocity
from flowmatch.models.unet import UNetVelocity
from flowmatch.models.velocity_score import VelocityAndScore
from flowmatch.options import build, check_options, option
from flowmatch.parsing import parse_int_list


def _hidden():
    return option(128, "mlp: hidden units per layer", min=1)


def _depth():
    return option(3, "mlp / simple-cnn: hidden layers", min=1)


def _channels():
    return option(32, "unet base width, diffusers-unet base width, simple-cnn width", min=1)


def _channel_mults():
    return option("1,2,2", "unet / diffusers-unet: channel multiplier per resolution, e.g. 1,2,2")


def _num_res_blocks():
    return option(1, "unet / diffusers-unet: residual blocks per resolution", min=1)


def _dropout():
    return option(0.0, "unet / diffusers-unet: dropout", min=0.0, max=1.0, max_open=True)


@dataclass(frozen=True)
class ModelConfig:
    """Which architecture; its own options are in the config class of that architecture."""

    model: str = option("mlp", "velocity network", choices=("mlp", "unet", "simple-cnn", "diffusers-unet"))


@dataclass(frozen=True)
class MLPConfig:
    hidden: int = _hidden()
    depth: int = _depth()

    def __post_init__(self):
        check_options(self)


@dataclass(frozen=True)
class SimpleCNNConfig:
    channels: int = _channels()
    depth: int = _depth()

    def __post_init__(self):
        check_options(self)


@dataclass(frozen=True)
class UNetConfig:
    channels: int = _channels()
    channel_mults: str = _channel_mults()
    num_res_blocks: int = _num_res_blocks()
    attn_resolutions: str = option("auto", "unet: feature-map sizes with self-attention, e.g. 7,14; 'auto' (the coarsest) or 'none'")
    dropout: float = _dropout()
    patch_size: int = option(1, "unet: space-to-depth patch (2: a quarter of the compute)", min=1)

    def __post_init__(self):
        check_options(self)
        parse_int_list(self.channel_mults, "channel-mults", min_value=1)
        if self.attn_resolutions != "auto":
            parse_int_list(self.attn_resolutions, "attn-resolutions", min_value=1, allow_empty=True)


@dataclass(frozen=True)
class DiffusersUNetConfig:
    channels: int = _channels()
    channel_mults: str = _channel_mults()
    num_res_blocks: int = _num_res_blocks()
    dropout: float = _dropout()

    def __post_init__(self):
        check_options(self)
        parse_int_list(self.channel_mults, "channel-mults", min_value=1)


def _no_mean_flow(name: str, mean_flow: bool) -> None:
    if mean_flow:
        raise FlowmatchError(f"model {name!r} has no interval input for --objective meanflow; use mlp or unet")


def _mlp(cfg: MLPConfig, shape: tuple[int, ...], num_classes: int, mean_flow: bool, cond_dim: int = 0, embed_scale: float = 0.0, guidance_input: bool = False) -> nn.Module:

    if len(shape) != 1:
        raise FlowmatchError(f"model 'mlp' takes points of shape (D,), got data of shape {shape}")
    return MLPVelocity(shape[0], hidden=cfg.hidden, depth=cfg.depth, num_classes=num_classes, cond_dim=cond_dim, mean_flow=mean_flow, embed_scale=embed_scale, guidance_input=guidance_input)


def _image_shape(name: str, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise FlowmatchError(f"model {name!r} takes images of shape (C, H, W), got data of shape {shape}")
    return shape  # type: ignore[return-value]


def _simple_cnn(cfg: SimpleCNNConfig, shape: tuple[int, ...], num_classes: int, mean_flow: bool) -> nn.Module:

    _no_mean_flow("simple-cnn", mean_flow)
    c, _, _ = _image_shape("simple-cnn", shape)
    return SimpleCNNVelocity(c, channels=cfg.channels, depth=cfg.depth, num_classes=num_classes)


def _unet(cfg: UNetConfig, shape: tuple[int, ...], num_classes: int, mean_flow: bool, embed_scale: float = 0.0, guidance_input: bool = False) -> nn.Module:

    c, h, w = _image_shape("unet", shape)
    if h != w:
        raise FlowmatchError(f"model 'unet' takes square images, got {h}x{w}")
    mults = parse_int_list(cfg.channel_mults, "channel-mults", min_value=1)
    # auto: attention at the coarsest feature map (cheap there, and where global shape forms)
    if cfg.attn_resolutions == "auto":
        attn = (h // cfg.patch_size // 2 ** (len(mults) - 1),)
    else:
        attn = parse_int_list(cfg.attn_resolutions, "attn-resolutions", min_value=1, allow_empty=True)
    return UNetVelocity(
        c,
        h,
        channels=cfg.channels,
        channel_mults=mults,
        num_res_blocks=cfg.num_res_blocks,
        attn_resolutions=attn,
        dropout=cfg.dropout,
        num_classes=num_classes,
        patch=cfg.patch_size,
        mean_flow=mean_flow,
        embed_scale=embed_scale,
        guidance_input=guidance_input,
    )


def _diffusers_unet(cfg: DiffusersUNetConfig, shape: tuple[int, ...], num_classes: int, mean_flow: bool) -> nn.Module:

    _no_mean_flow("diffusers-unet", mean_flow)
    widths = tuple(cfg.channels * m for m in parse_int_list(cfg.channel_mults, "channel-mults", min_value=1))
    return DiffusersUNetVelocity(_image_shape("diffusers-unet", shape), widths=widths, layers_per_block=cfg.num_res_blocks, num_classes=num_classes, dropout=cfg.dropout)


ARCHITECTURES: dict[str, tuple[type, Callable[[Any, tuple[int, ...], int, bool], nn.Module]]] = {
    "mlp": (MLPConfig, _mlp),
    "unet": (UNetConfig, _unet),
    "simple-cnn": (SimpleCNNConfig, _simple_cnn),
    "diffusers-unet": (DiffusersUNetConfig, _diffusers_unet),
}
MODELS = tuple(ARCHITECTURES)


# architectures with an interval input (average-velocity models: MeanFlow, flow-map distillation)
INTERVAL_MODELS = ("mlp", "unet")
# architectures that take continuous conditions c: (B, K) beside x (the others take class labels only)
CONDITIONED = ("mlp",)


def build_model(
    name: str,
    data_shape: tuple[int, ...],
    num_classes: int = 0,
    *,
    cond_dim: int = 0,
    score: bool = False,
    mean_flow: bool = False,
    embed_scale: float = 0.0,
    guidance_input: bool = False,
    **options: Any,
) -> nn.Module:
    """A velocity network v(x, t, y=None) for samples of shape data_shape, e.g. (D,) or (C, H, W).

    mean_flow=True adds the interval input h of an average-velocity model u(x, t, y, h);
    embed_scale > 0 sets the sinusoidal scale of its time embeddings (default: the model's own);
    guidance_input=True adds the guidance weight w: (B,) as an input (a guidance-distilled student).
    `options` are the architecture's own (see its config class); any other is an error naming it.
    cond_dim > 0 adds an input c: (B, cond_dim) of continuous conditions (architectures in
    CONDITIONED). score=True builds two networks, a velocity and a score (`VelocityAndScore`).
    """
    if name not in ARCHITECTURES:
        raise FlowmatchError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    config_cls, make = ARCHITECTURES[name]
    try:
        config = build(config_cls, options)
    except FlowmatchError as exc:
        raise FlowmatchError(f"model {name!r}: {exc}") from None
    if cond_dim and name not in CONDITIONED:
        raise FlowmatchError(f"model {name!r} takes no continuous conditions; data with conditions c need --model {' or '.join(CONDITIONED)}")
    extra = {"cond_dim": int(cond_dim)} if cond_dim else {}
    if embed_scale > 0:
        if name not in INTERVAL_MODELS:
            raise FlowmatchError(f"model {name!r} takes no time-embedding scale; use {' or '.join(INTERVAL_MODELS)}")
        extra["embed_scale"] = float(embed_scale)
    if guidance_input:
        if name not in INTERVAL_MODELS or not num_classes:
            raise FlowmatchError(f"a guidance-weight input needs a class-conditional {' or '.join(INTERVAL_MODELS)} model, got {name!r} with {num_classes} classes")
        extra["guidance_input"] = True

    def one() -> nn.Module:
        return make(config, tuple(data_shape), int(num_classes), bool(mean_flow), **extra)

    if score:
        return VelocityAndScore(one(), one())
    return one()


def architecture_config(name: str) -> type:
    """The options class of architecture `name`."""
    if name not in ARCHITECTURES:
        raise FlowmatchError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return ARCHITECTURES[name][0]
