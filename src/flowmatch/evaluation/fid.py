"""Inception FID between two folders of images, through torch-fidelity, only when it and its
weights are already on this machine: nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import torch

from flowmatch.errors import FlowmatchError


def inception_fid(fake_dir: str, real_dir: str) -> float:
    """FID of the images in fake_dir against real_dir; a one-line error naming what is missing."""
    try:
        import torch_fidelity
    except ImportError:
        raise FlowmatchError("Inception FID needs torch-fidelity with its Inception weights installed locally (pip install torch-fidelity, then cache the weights); it is not installed") from None
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if not any(hub.glob("*inception*")):
        raise FlowmatchError(f"Inception FID needs the Inception weights in {hub}; none found and nothing is downloaded")
    metrics = torch_fidelity.calculate_metrics(input1=fake_dir, input2=real_dir, fid=True, cuda=torch.cuda.is_available(), verbose=False)
    return float(metrics["frechet_inception_distance"])


__all__ = ["inception_fid"]
