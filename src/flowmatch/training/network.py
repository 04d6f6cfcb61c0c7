"""The one builder of a run's network (and of its path) from its config: the trainer and a loaded run both call it."""

from __future__ import annotations

from typing import Any

from torch import nn

from flowmatch.data import manifold_of
from flowmatch.manifolds import Manifold
from flowmatch.models import build_model
from flowmatch.paths import AffinePath, BridgePath, GeodesicPath
from flowmatch.training.objectives import OBJECTIVE_CLASSES


def run_manifold(config: Any, data_shape: tuple[int, ...]) -> Manifold | None:
    """The manifold a run's flow lives on (`--manifold`), for data of shape `data_shape`; None in flat space."""
    return None if config.manifold == "euclidean" else manifold_of(config.manifold, tuple(data_shape))


def run_path(config: Any, data_shape: tuple[int, ...]) -> AffinePath | BridgePath | GeodesicPath:
    """The run's probability path: its schedule's affine path (or the bridge), or on a manifold the geodesic path with that schedule."""
    path = config.build_path()
    manifold = run_manifold(config, data_shape)
    return path if manifold is None else GeodesicPath(manifold, path.schedule)


def build_network(config: Any, data_shape: tuple[int, ...], num_classes: int, cond_dim: int = 0, vocab_size: int = 0) -> nn.Module:
    """The network `config` trains (untrained weights): its architecture and options, the inputs
    its objective needs (an interval h, a guidance weight, the vocabulary of token data), on the
    bridge a score head and, on a manifold, the projection of its output onto the tangent space.
    vocab_size: the number of tokens of token data (0 for the others)."""
    manifold = run_manifold(config, data_shape)
    return build_model(
        config.model,
        tuple(data_shape),
        num_classes=int(num_classes),
        cond_dim=int(cond_dim),
        score=isinstance(config.build_path(), BridgePath),
        **OBJECTIVE_CLASSES[config.objective].network_options(config, int(vocab_size)),
        **({"manifold": manifold} if manifold is not None else {}),
        **config.model_options(),
    )


__all__ = ["build_network", "run_manifold", "run_path"]
