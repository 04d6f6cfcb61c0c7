"""Checkpoints: the trainer's state dict, written atomically, read without executing code.

Loading uses `torch.load(weights_only=True)`, whose unpickler admits only tensors and plain
containers and numbers: a crafted checkpoint.pt raises an error instead of running code.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import torch

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import atomic_write, open_regular
from flowmatch.runs.files import CHECKPOINT

MAX_DATA_ELEMENTS = 2**24  # values in one sample (3 x 2048 x 2048 fits): a larger shape is damage, not data


def valid_data_shape(shape: Any) -> bool:
    """A list such as (D,) or (C, H, W) of positive integers with at most MAX_DATA_ELEMENTS values."""
    return isinstance(shape, list) and 1 <= len(shape) <= 4 and all(type(d) is int and 0 < d <= MAX_DATA_ELEMENTS for d in shape) and math.prod(shape) <= MAX_DATA_ELEMENTS


def safe_load(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """torch.load with the tensors-only unpickler (the one loader of .pt files); torch's own
    warnings about a file's pickle protocol are not the user's business and are not printed."""
    with warnings.catch_warnings(), open_regular(path) as fh:
        warnings.simplefilter("ignore")
        return torch.load(fh, map_location=map_location, weights_only=True)


def save_torch(obj: Any, path: str | Path) -> None:
    """torch.save, atomically; serialised in memory first: torch's writer turns a failed write into
    a RuntimeError, while a plain write of the bytes fails with the OSError (a full disk) naming the file."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(Path(path), lambda fh: fh.write(buffer.getbuffer()))


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    save_torch(state, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The state dict in a checkpoint file (or a run directory's checkpoint.pt); one-line errors."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FlowmatchError(f"no checkpoint in run directory {path.parent} (expected {path.name})")
    try:
        state = safe_load(path, map_location)
    except FlowmatchError:
        raise
    except Exception as exc:
        raise FlowmatchError(f"corrupt or unsafe checkpoint {path}: {type(exc).__name__}") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict) or type(state.get("step")) is not int or state["step"] < 0:
        raise FlowmatchError(f"corrupt checkpoint {path}: missing model weights or step")
    shape, classes = state.get("data_shape"), state.get("num_classes")
    if not valid_data_shape(shape) or type(classes) is not int or not 0 <= classes <= 100_000:
        raise FlowmatchError(f"corrupt checkpoint {path}: no valid data shape and class count")
    if not all(isinstance(v, torch.Tensor) for v in state["model"].values()) or not isinstance(state.get("ema") or {}, dict):
        raise FlowmatchError(f"corrupt checkpoint {path}: weights that are not tensors")
    return state


def sampling_weights(state: dict[str, Any], use_ema: bool = True) -> dict[str, torch.Tensor]:
    """The weights to sample with: the EMA's when kept (and asked for), else the trained model's."""
    return state["ema"] if use_ema and state.get("ema") is not None else state["model"]


__all__ = ["MAX_DATA_ELEMENTS", "load_checkpoint", "safe_load", "sampling_weights", "save_checkpoint", "save_torch", "valid_data_shape"]
