"""Probe behind T_CLAMP (flowmatch.paths.targets): the clamp of t in the x1 / epsilon -> velocity conversion.

Trains moons from a Gaussian with --target x1 and --target epsilon (2,000 steps, seed 0), then
samples each at clamps 1e-3, 1e-2 and 5e-2 (the clamp acts at sampling only): exact W2 of 2,000
samples against 2,000 fresh points (median over 3 reference draws) at NFE 1 (Euler), 2, 4, 8
(midpoint) and dopri5 (its NFE in brackets).

    OMP_NUM_THREADS=1 python benchmarks/experiments/target_clamp.py
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import torch

import flowmatch.paths.targets as targets
from flowmatch import TrainConfig, load_run, train
from flowmatch.data import load_data
from flowmatch.metrics import wasserstein2
from flowmatch.runs import sample_run

SETTINGS = [("NFE 1", "euler", 1), ("NFE 2", "midpoint", 1), ("NFE 4", "midpoint", 2), ("NFE 8", "midpoint", 4), ("adaptive", "dopri5", 1)]


def main() -> None:
    data = load_data("moons")
    g = torch.Generator().manual_seed(10_000)
    refs = [data.sample(2000, g).x for _ in range(3)]
    print("| target | clamp | " + " | ".join(n for n, _, _ in SETTINGS) + " |")
    print("|---|---|" + "---|" * len(SETTINGS))
    with tempfile.TemporaryDirectory() as tmp:
        for target in ("x1", "epsilon"):
            out = Path(tmp) / target
            train(TrainConfig(data="moons", out=str(out), target=target, steps=2000, progress=False, save_every=2000))
            run = load_run(out)
            for clamp in (1e-3, 1e-2, 5e-2):
                targets.T_CLAMP = clamp
                cells = []
                for _, method, steps in SETTINGS:
                    res = sample_run(run, 2000, method=method, steps=steps, seed=1)
                    cells.append(f"{statistics.median(wasserstein2(res.x, r) for r in refs):.3f}" + (f" ({res.nfe})" if method == "dopri5" else ""))
                print(f"| {target} | {clamp:g} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
