"""Pairs files: fixed couplings (x0, x1) for reflow and distillation, saved as tensors only."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import atomic_write
from flowmatch.runs.checkpoint import safe_load


def save_pairs(x0: Tensor, x1: Tensor, path: str | Path) -> None:
    atomic_write(Path(path), lambda fh: torch.save({"x0": x0.cpu(), "x1": x1.cpu()}, fh))


def load_pairs(path: str | Path) -> tuple[Tensor, Tensor]:
    """(x0, x1), each (N, *D) float32, from a file written by `save_pairs`."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"pairs file not found: {p}")
    try:
        obj = safe_load(p)
        x0, x1 = obj["x0"].float(), obj["x1"].float()
    except Exception as exc:
        raise FlowmatchError(f"cannot read pairs file {p}: {type(exc).__name__}") from None
    if x0.shape != x1.shape or len(x0) == 0:
        raise FlowmatchError(f"pairs in {p} have shapes {tuple(x0.shape)} and {tuple(x1.shape)}; expected two equal (N, *D)")
    return x0, x1


__all__ = ["load_pairs", "save_pairs"]
