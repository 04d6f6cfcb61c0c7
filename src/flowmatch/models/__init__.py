"""Velocity networks v(x, t, y=None): an MLP for points, a U-Net and a plain CNN for images
(diffusers' UNet2DModel, the optional extra `diffusers`, imported when built), each with its options class;
posterior networks over token sequences for discrete flows (`TokenMLP`, `TokenTransformer`).

Class labels: every network takes y: (B,) with the extra index `num_classes` as the null class
of classifier-free guidance, and y=None meaning that null class. The MLP also takes continuous
conditions c: (B, K). `VelocityAndScore` pairs a velocity and a score network (bridge runs).
"""

from flowmatch.models.config import (
    ARCHITECTURES,
    CONDITIONED,
    MODELS,
    TOKEN_MODELS,
    DiffusersUNetConfig,
    MLPConfig,
    ModelConfig,
    SimpleCNNConfig,
    TokenMLPConfig,
    TransformerConfig,
    UNetConfig,
    architecture_config,
    build_model,
)
from flowmatch.models.mlp import MLPVelocity
from flowmatch.models.tokens import TokenMLP, TokenTransformer
from flowmatch.models.velocity_score import VelocityAndScore

__all__ = [
    "ARCHITECTURES",
    "CONDITIONED",
    "MODELS",
    "DiffusersUNetConfig",
    "MLPConfig",
    "MLPVelocity",
    "ModelConfig",
    "SimpleCNNConfig",
    "TOKEN_MODELS",
    "TokenMLP",
    "TokenMLPConfig",
    "TokenTransformer",
    "TransformerConfig",
    "UNetConfig",
    "VelocityAndScore",
    "architecture_config",
    "build_model",
]
