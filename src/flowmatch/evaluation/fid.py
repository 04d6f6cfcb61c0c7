"""Inception FID through torch-fidelity, only when it and its Inception weights are already on this
machine: nothing is downloaded, and what is missing is named in one line.

The weights file is torch-fidelity's own (`INCEPTION_WEIGHTS`), looked for in torch's hub cache
(`torch.hub.get_dir()/checkpoints`), where torch-fidelity keeps it after a first online run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError

INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"


def inception_weights() -> Path:
    """The local Inception weights file, after checking torch-fidelity imports; one-line errors otherwise."""
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise FlowmatchError(f"metric 'fid' needs torch-fidelity (pip install torch-fidelity) and its Inception weights {hub / INCEPTION_WEIGHTS}; nothing is downloaded") from None
    path = hub / INCEPTION_WEIGHTS
    if not path.is_file():
        raise FlowmatchError(f"metric 'fid' needs the Inception weights file {path} (torch-fidelity saves it there on a machine with a network); nothing is downloaded")
    return path


def _write_pngs(x: Tensor, folder: Path) -> None:
    from PIL import Image

    u8 = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte()
    if u8.shape[1] == 1:  # Inception takes RGB
        u8 = u8.repeat(1, 3, 1, 1)
    for i, img in enumerate(u8.permute(0, 2, 3, 1).numpy()):
        Image.fromarray(img).save(folder / f"{i:06d}.png")


def inception_fid(fake: Tensor, real: Tensor) -> float:
    """FID between image sets fake: (N, C, H, W) and real: (M, C, H, W), both in [-1, 1]."""
    weights = inception_weights()
    import torch_fidelity

    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp, "fake"), Path(tmp, "real")
        a.mkdir()
        b.mkdir()
        _write_pngs(fake, a)
        _write_pngs(real, b)
        metrics = torch_fidelity.calculate_metrics(input1=str(a), input2=str(b), fid=True, cuda=torch.cuda.is_available(), verbose=False, feature_extractor_weights_path=str(weights))
    return float(metrics["frechet_inception_distance"])


__all__ = ["INCEPTION_WEIGHTS", "inception_fid", "inception_weights"]
