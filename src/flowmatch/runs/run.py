"""A trained run, loaded: its config, sampling model, path, source and data description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from flowmatch.data import DataSource, ImageShape, load_data
from flowmatch.errors import FlowmatchError
from flowmatch.models import build_model
from flowmatch.paths import AffinePath
from flowmatch.runs.checkpoint import load_checkpoint, sampling_weights
from flowmatch.runs.files import CHECKPOINT, CONFIG_FILE, load_config
from flowmatch.training import TrainConfig, resolve_device


@dataclass
class Run:
    """A trained run: its config, EMA (or raw) model in eval mode, path, source and data."""

    config: TrainConfig
    model: nn.Module
    path: AffinePath
    source: DataSource
    data: DataSource
    step: int
    device: torch.device


def load_run(run_dir: str | Path, device: str = "auto", use_ema: bool = True) -> Run:
    """Rebuild model, path and source from a run directory's config.json and checkpoint."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FlowmatchError(f"run directory not found: {run_dir}")
    state = load_checkpoint(run_dir / CHECKPOINT)
    config = load_config(run_dir / CONFIG_FILE)
    dev = resolve_device(device)
    if len(state.get("data_shape", ())) == 3:  # images: shape and classes suffice
        data: DataSource = ImageShape(tuple(state["data_shape"]), int(state.get("num_classes", 0)), config.data)
    else:
        data = load_data(config.data)
    path = config.build_path()
    source = config.build_source(data, path)
    model = build_model(config.model, data.shape, num_classes=data.num_classes, **config.model_options())
    try:
        model.load_state_dict(sampling_weights(state, use_ema))
    except RuntimeError as exc:
        raise FlowmatchError(f"checkpoint in {run_dir} does not match its config: {str(exc).splitlines()[0]}") from None
    model.to(dev).eval().requires_grad_(False)
    return Run(config, model, path, source, data, int(state["step"]), dev)


__all__ = ["Run", "load_run"]
