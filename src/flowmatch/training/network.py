"""The one builder of a run's network from its config: the trainer and a loaded run both call it."""

from __future__ import annotations

from typing import Any

from torch import nn

from flowmatch.models import build_model
from flowmatch.paths import BridgePath
from flowmatch.training.objectives import OBJECTIVE_CLASSES


def build_network(config: Any, data_shape: tuple[int, ...], num_classes: int, cond_dim: int = 0) -> nn.Module:
    """The network `config` trains (untrained weights): its architecture and options, the inputs
    its objective needs (an interval h, a guidance weight) and, on the bridge, a score head."""
    return build_model(
        config.model,
        tuple(data_shape),
        num_classes=int(num_classes),
        cond_dim=int(cond_dim),
        score=isinstance(config.build_path(), BridgePath),
        **OBJECTIVE_CLASSES[config.objective].network_options(config),
        **config.model_options(),
    )


__all__ = ["build_network"]
