"""Options of each velocity architecture, and `build_model`, which makes a network by name.

An option that several architectures share (`channels`, `depth`, ...) is declared once here
(one default, one help text) and used by each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import Manifold, TangentVelocity
from flowmatch.models.diffusers_unet import DiffusersUNetVelocity  # imports diffusers (an optional extra) only when built
from flowmatch.models.mlp import MLPVelocity
from flowmatch.models.simple_cnn import SimpleCNNVelocity
from flowmatch.models.tokens import POSITIONS, TokenMLP, TokenTransformer
from flowmatch.models.unet import UNetVelocity
from flowmatch.models.velocity_score import VelocityAndScore
from flowmatch.options import build, check_options, option
from flowmatch.parsing import parse_int_list


def _hidden():
    return option(128, "mlp / token-mlp: hidden units per layer (token-mlp: also each token's embedding)", min=1, max=65536)


def _depth():
    return option(3, "mlp / token-mlp / simple-cnn: hidden layers", min=1, max=256)


def _channels():
    return option(32, "unet base width, diffusers-unet base width, simple-cnn width", min=1, max=4096)


def _channel_mults():
    return option("1,2,2", "unet / diffusers-unet: channel multiplier per resolution, e.g. 1,2,2")


def _num_res_blocks():
    return option(1, "unet / diffusers-unet: residual blocks per resolution", min=1, max=64)


def _dropout():
    return option(0.0, "unet / diffusers-unet: dropout", min=0.0, max=1.0, max_open=True)


@dataclass(frozen=True)
class ModelConfig:
    """Which architecture; its own options are in the config class of that architecture."""

    model: str = option("mlp", "velocity network (token data: the posterior network token-mlp or transformer)", choices=("mlp", "unet", "simple-cnn", "diffusers-unet", "token-mlp", "transformer"))


@dataclass(frozen=True)
class MLPConfig:
    hidden: int = _hidden()
    depth: int = _depth()
    fourier_features: int = option(0, "mlp: K random Fourier features sin, cos(x B) of the input, B ~ N(0, fourier-scale^2) (0: off; for sharp densities)", min=0)
    fourier_scale: float = option(1.0, "mlp: the frequency scale of --fourier-features", min=0.0, min_open=True)

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
    patch_size: int = option(1, "unet: space-to-depth patch (2: a quarter of the compute)", min=1, max=64)

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


@dataclass(frozen=True)
class TokenMLPConfig:
    hidden: int = _hidden()
    depth: int = _depth()

    def __post_init__(self):
        check_options(self)


@dataclass(frozen=True)
class TransformerConfig:
    embed_dim: int = option(256, "transformer: width of the token embeddings and blocks", min=8)
    layers: int = option(4, "transformer: blocks", min=1)
    heads: int = option(4, "transformer: attention heads (embed-dim must be a multiple)", min=1)
    positions: str = option("rope", "transformer: positions as rotary embeddings of queries and keys, or learnt vectors", choices=POSITIONS)

    def __post_init__(self):
        check_options(self)
        if self.embed_dim % self.heads:
            raise FlowmatchError(f"transformer: embed-dim {self.embed_dim} must be a multiple of heads {self.heads}")


def _no_mean_flow(name: str, mean_flow: bool) -> None:
    if mean_flow:
        raise FlowmatchError(f"model {name!r} has no interval input for --objective meanflow; use mlp or unet")


def _mlp(cfg: MLPConfig, shape: tuple[int, ...], num_classes: int, mean_flow: bool, cond_dim: int = 0, embed_scale: float = 0.0, guidance_input: bool = False) -> nn.Module:

    if len(shape) != 1:
        raise FlowmatchError(f"model 'mlp' takes points of shape (D,), got data of shape {shape}")
    return MLPVelocity(
        shape[0],
        hidden=cfg.hidden,
        depth=cfg.depth,
        fourier_features=cfg.fourier_features,
        fourier_scale=cfg.fourier_scale,
        num_classes=num_classes,
        cond_dim=cond_dim,
        mean_flow=mean_flow,
        embed_scale=embed_scale,
        guidance_input=guidance_input,
    )


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


def _sequence_length(name: str, shape: tuple[int, ...]) -> int:
    if len(shape) != 1:
        raise FlowmatchError(f"model {name!r} reads token sequences of shape (L,), got data of shape {shape}")
    return shape[0]


def _token_mlp(cfg: TokenMLPConfig, shape: tuple[int, ...], num_classes: int, mean_flow: bool, vocab: int = 0, input_vocab: int = 0) -> nn.Module:

    _no_mean_flow("token-mlp", mean_flow)
    return TokenMLP(input_vocab, vocab, _sequence_length("token-mlp", shape), hidden=cfg.hidden, depth=cfg.depth, num_classes=num_classes)


def _transformer(cfg: TransformerConfig, shape: tuple[int, ...], num_classes: int, mean_flow: bool, vocab: int = 0, input_vocab: int = 0) -> nn.Module:

    _no_mean_flow("transformer", mean_flow)
    return TokenTransformer(input_vocab, vocab, _sequence_length("transformer", shape), dim=cfg.embed_dim, layers=cfg.layers, heads=cfg.heads, num_classes=num_classes, positions=cfg.positions)


ARCHITECTURES: dict[str, tuple[type, Callable[[Any, tuple[int, ...], int, bool], nn.Module]]] = {
    "mlp": (MLPConfig, _mlp),
    "unet": (UNetConfig, _unet),
    "simple-cnn": (SimpleCNNConfig, _simple_cnn),
    "diffusers-unet": (DiffusersUNetConfig, _diffusers_unet),
    "token-mlp": (TokenMLPConfig, _token_mlp),
    "transformer": (TransformerConfig, _transformer),
}
MODELS = tuple(ARCHITECTURES)


# architectures with an interval input (average-velocity models: MeanFlow, flow-map distillation)
INTERVAL_MODELS = ("mlp", "unet")
# posterior networks over token sequences (discrete flows): logits (B, L, V) from tokens (B, L)
TOKEN_MODELS = ("token-mlp", "transformer")
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
    manifold: Manifold | None = None,
    vocab: int = 0,
    input_vocab: int = 0,
    **options: Any,
) -> nn.Module:
    """A velocity network v(x, t, y=None) for samples of shape data_shape, e.g. (D,) or (C, H, W).

    mean_flow=True adds the interval input h of an average-velocity model u(x, t, y, h);
    embed_scale > 0 sets the sinusoidal scale of its time embeddings (default: the model's own);
    guidance_input=True adds the guidance weight w: (B,) as an input (a guidance-distilled student).
    `options` are the architecture's own (see its config class); any other is an error naming it.
    cond_dim > 0 adds an input c: (B, cond_dim) of continuous conditions (architectures in
    CONDITIONED). score=True builds two networks, a velocity and a score (`VelocityAndScore`).
    manifold: a field on that manifold (`TangentVelocity`): the network takes the manifold's
    features of x and its output is projected onto the tangent space at x.
    vocab > 0: a posterior network over sequences of tokens (TOKEN_MODELS) with `vocab` output
    tokens and `input_vocab` (default vocab) input tokens (one more on the mask path).
    """
    # long: each architecture family (points, images, manifolds, tokens) is checked and built in one place
    if name not in ARCHITECTURES:
        raise FlowmatchError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    config_cls, make = ARCHITECTURES[name]
    try:
        config = build(config_cls, options)
    except FlowmatchError as exc:
        raise FlowmatchError(f"model {name!r}: {exc}") from None
    if cond_dim and name not in CONDITIONED:
        raise FlowmatchError(f"model {name!r} takes no continuous conditions; data with conditions c need --model {' or '.join(CONDITIONED)}")
    extra: dict[str, Any] = {"cond_dim": int(cond_dim)} if cond_dim else {}
    if (name in TOKEN_MODELS) != (vocab > 0):
        if vocab > 0:
            raise FlowmatchError(f"token data need a posterior network: --model {' or '.join(TOKEN_MODELS)}, not {name!r}")
        raise FlowmatchError(f"model {name!r} reads token sequences: train it on token data (text, token arrays, discrete-checkerboard)")
    if vocab > 0:
        extra.update(vocab=int(vocab), input_vocab=int(input_vocab or vocab))
    if embed_scale > 0:
        if name not in INTERVAL_MODELS:
            raise FlowmatchError(f"model {name!r} takes no time-embedding scale; use {' or '.join(INTERVAL_MODELS)}")
        extra["embed_scale"] = float(embed_scale)
    if guidance_input:
        if name not in INTERVAL_MODELS or not num_classes:
            raise FlowmatchError(f"a guidance-weight input needs a class-conditional {' or '.join(INTERVAL_MODELS)} model, got {name!r} with {num_classes} classes")
        extra["guidance_input"] = True

    if manifold is not None:
        if tuple(data_shape) != (manifold.ambient_dim,) or score or mean_flow:
            raise FlowmatchError(f"a field on the {manifold.name} takes points of shape ({manifold.ambient_dim},) and the plain flow-matching objective; got shape {tuple(data_shape)}")
        return TangentVelocity(make(config, (manifold.feature_dim,), int(num_classes), False, **extra), manifold)

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
