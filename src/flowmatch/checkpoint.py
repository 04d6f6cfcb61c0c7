"""Atomic checkpoints: torch.save to a temporary file, fsync, then rename over the old one.

A process killed at any instant leaves either the previous checkpoint or the new one, never a
truncated file; a file damaged some other way is reported as corrupt in one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from flowmatch.errors import FlowmatchError

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FlowmatchError(f"no checkpoint in run directory {path.parent} (expected {path.name})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:
        raise FlowmatchError(f"corrupt checkpoint {path}: {type(exc).__name__}") from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise FlowmatchError(f"corrupt checkpoint {path}: missing model weights or step")
    return state
