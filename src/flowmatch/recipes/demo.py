"""The README's main job: train moons from a Gaussian on the CPU and draw the pictures."""

from __future__ import annotations

from pathlib import Path

import torch

from flowmatch.data import load_data
from flowmatch.metrics import wasserstein2
from flowmatch.runs import load_run, sample_run, train
from flowmatch.runs.outputs import check_output
from flowmatch.training import TrainConfig
from flowmatch.viz import plot_run


def run_demo(out: str | Path = "runs/demo", steps: int = 5000) -> dict:
    """Train (or resume) a moons run in `out`, write out/plots/*.png; return a summary."""
    out = check_output(out, "--out", directory=True, owner=out)  # before an empty --out became "."
    result = train(TrainConfig(data="moons", out=str(out), steps=steps, save_every=1000), resume=True)
    files = plot_run(out, out / "plots")
    run = load_run(out)
    g = torch.Generator().manual_seed(1234)
    ref, ref2 = run.data.sample(2000, g).x, load_data("moons").sample(2000, g).x
    res = sample_run(run, 2000, method="midpoint", steps=4, seed=1)
    return {
        "run": str(out),
        "steps": result.step,
        "train_seconds": round(result.seconds, 1),
        "w2_nfe8": round(wasserstein2(res.x, ref), 4),
        "w2_noise_floor": round(wasserstein2(ref2, ref), 4),
        "pictures": [str(f) for f in files],
    }
