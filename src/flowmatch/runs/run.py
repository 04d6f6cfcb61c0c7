"""A trained run, loaded: its config, sampling model, path, source and data description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from flowmatch.data import TOY_SETS, ArrayData, DataShape, DataSource, load_data
from flowmatch.data.points import load_points
from flowmatch.errors import FlowmatchError
from flowmatch.paths import AffinePath, BridgePath, PredictionVelocity
from flowmatch.runs.checkpoint import load_checkpoint, sampling_weights
from flowmatch.runs.files import CHECKPOINT, CONFIG_FILE, SOURCE_FILE, load_config
from flowmatch.runs.recommend import SamplerSettings
from flowmatch.training import TrainConfig, build_network, resolve_device


@dataclass
class Run:
    """A trained run: its config, EMA (or raw) model in eval mode, path, source and data.

    model is the run's velocity v(x, t, **cond): a network trained for another target is wrapped
    in `PredictionVelocity`; a bridge run's is a `VelocityAndScore` (its forward is the velocity).
    """

    config: TrainConfig
    model: nn.Module
    path: AffinePath | BridgePath
    source: DataSource
    data: DataSource
    step: int
    device: torch.device
    # an exported model's recommended sampler (its card's), else None: the run's config decides
    recommended: SamplerSettings | None = None


def _data(spec: str, shape: tuple[int, ...], num_classes: int, cond_dim: int) -> DataSource:
    """What sampling needs of the data: its shape, classes and condition size (stored in the checkpoint). The data
    themselves only where they are at hand: a built-in set, or the training file if it is still
    where it was (for `eval`'s default reference); never needed to sample."""
    if spec in TOY_SETS and shape == (2,):
        return load_data(spec)
    if len(shape) == 1 and Path(spec).is_file():
        try:
            data = load_data(spec)
            if data.shape == shape and data.num_classes == num_classes and data.cond_dim == cond_dim:
                return data
        except FlowmatchError:
            pass
    return DataShape(shape, num_classes, spec, cond_dim)


def _source(config: TrainConfig, data: DataSource, path: AffinePath | BridgePath, points: Tensor | None, where: Path) -> DataSource:
    """The source p0: the path's Gaussian, a built-in set, or the source points kept with the run."""
    if config.source == "gaussian" or config.source in TOY_SETS:
        return config.build_source(data, path)
    if points is not None:
        source = ArrayData(points, name=config.source)
        if source.shape != data.shape:
            raise FlowmatchError(f"{where} holds source points of shape {source.shape}, but the run's data have shape {data.shape}")
        return source
    return config.build_source(data, path)  # a run written before the source was kept: read the file


def build_run(
    config: TrainConfig,
    weights: dict[str, Tensor],
    data_shape: tuple[int, ...],
    num_classes: int,
    *,
    cond_dim: int = 0,
    step: int = 0,
    device: str = "auto",
    source_points: Tensor | None = None,
    where: str | Path = "run",
    cls: type[Run] = Run,
    **extra: Any,
) -> Run:
    """A `Run` (or subclass `cls`, given its `extra` fields) from a config, sampling weights, the
    data's shape, class count and condition size and, for a two-sided run from a file, its source points:
    what a run directory and an exported folder both hold."""
    dev = resolve_device(device)
    data = _data(config.data, tuple(data_shape), int(num_classes), int(cond_dim))
    path = config.build_path()
    source = _source(config, data, path, source_points, Path(where))
    model = build_network(config, data.shape, data.num_classes, cond_dim)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise FlowmatchError(f"the weights in {where} do not match its config: {str(exc).splitlines()[0]}") from None
    if config.target != "velocity":
        model = PredictionVelocity(model, path, config.target)
    model.to(dev).eval().requires_grad_(False)
    return cls(config, model, path, source, data, int(step), dev, **extra)


def load_run(run_dir: str | Path, device: str = "auto", use_ema: bool = True) -> Run:
    """Rebuild model, path and source from a run directory's config.json and checkpoint."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FlowmatchError(f"run directory not found: {run_dir}")
    state = load_checkpoint(run_dir / CHECKPOINT)
    config = load_config(run_dir / CONFIG_FILE)
    kept = run_dir / SOURCE_FILE
    points = torch.from_numpy(load_points(kept)) if kept.is_file() and config.source not in TOY_SETS and config.source != "gaussian" else None
    shape, num_classes = tuple(state["data_shape"]), int(state["num_classes"])
    cond_dim = state.get("cond_dim", 0)  # runs written before conditions existed have none
    if type(cond_dim) is not int or cond_dim < 0:
        raise FlowmatchError(f"checkpoint in {run_dir} is damaged: cond_dim is {cond_dim!r}")
    return build_run(config, sampling_weights(state, use_ema), shape, num_classes, cond_dim=cond_dim, step=int(state["step"]), device=device, source_points=points, where=run_dir)


__all__ = ["Run", "build_run", "load_run"]
