"""Pairs files: fixed couplings (x0, x1[, y]) for reflow and distillation, saved as tensors only."""

from __future__ import annotations

from pathlib import Path

from flowmatch.errors import FlowmatchError
from flowmatch.runs.checkpoint import safe_load, save_torch
from flowmatch.training import FixedPairs


def save_pairs(pairs: FixedPairs, path: str | Path) -> None:
    tensors = {"x0": pairs.x0.cpu(), "x1": pairs.x1.cpu(), **({} if pairs.y is None else {"y": pairs.y.cpu()})}
    if pairs.guidance is not None:
        tensors["guidance"] = pairs.guidance.cpu()
    if pairs.states is not None:  # a teacher's paths, for flow-map distillation
        tensors.update(states=pairs.states.cpu(), velocities=pairs.velocities.cpu(), times=pairs.times.cpu())
    save_torch(tensors, path)


def load_pairs(path: str | Path) -> FixedPairs:
    """x0, x1: (N, *D) float32, y: (N,) int64 labels or None and, where saved, the teacher's paths
    (states and velocities (K+1, N, *D) as saved, times (K+1,) float64) and guidance weights (N,),
    from a file written by `save_pairs`."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"pairs file not found: {p}")
    try:
        obj = safe_load(p)
        x0, x1 = obj["x0"].float(), obj["x1"].float()
        y = obj["y"].long() if "y" in obj else None
        guidance = obj["guidance"].float() if "guidance" in obj else None
        paths = {k: obj[k] for k in ("states", "velocities") if k in obj}
        if paths:
            paths["times"] = obj["times"].double()
    except Exception as exc:
        raise FlowmatchError(f"cannot read pairs file {p}: {type(exc).__name__}") from None
    if x0.shape != x1.shape or len(x0) == 0 or (y is not None and y.shape != (len(x0),)):
        raise FlowmatchError(f"pairs in {p} have shapes {tuple(x0.shape)} and {tuple(x1.shape)}; expected two equal (N, *D) (and (N,) labels)")
    return FixedPairs(x0, x1, y, guidance=guidance, **paths)


__all__ = ["load_pairs", "save_pairs"]
