"""Velocity networks v(x, t, y=None): an MLP for points, a U-Net and a plain CNN for images
(diffusers' UNet2DModel through `flowmatch.interop`), each with its options class.

Class labels: every network takes y: (B,) with the extra index `num_classes` as the null class
of classifier-free guidance, and y=None meaning that null class.
"""

from flowmatch.models.config import (
    ARCHITECTURES,
    MODELS,
    DiffusersUNetConfig,
    MLPConfig,
    ModelConfig,
    SimpleCNNConfig,
    UNetConfig,
    architecture_config,
    build_model,
)
from flowmatch.models.mlp import MLPVelocity

__all__ = ["ARCHITECTURES", "MODELS", "DiffusersUNetConfig", "MLPConfig", "MLPVelocity", "ModelConfig", "SimpleCNNConfig", "UNetConfig", "architecture_config", "build_model"]
