"""Stochastic samplers: Schrödinger-bridge CFM on a two-sided task, and the SDE of a Gaussian-path run.

- Two-sided, 8gaussians -> moons: OT-CFM (condot path, exact minibatch OT) against SB-CFM
  (`--path bridge --bridge-sigma S --coupling sb`: the Brownian bridge, entropic OT with reg
  2 S^2, velocity and score networks), each sampled by the ODE (Euler NFE 1, midpoint NFE 4,
  dopri5) and, for the bridge, by Euler–Maruyama on its SDE dx = (v + S^2/2 s) dt + S dW.
- One-sided, Gaussian -> moons (condot path, independent coupling): the ODE against the SDE
  with the same marginals (score from the velocity; noise scale eta) by Euler–Maruyama.

Every run: MLP 3x128, batch 256, --steps steps, seed 0; W2 of 2,000 samples against 2,000 fresh
moons (median over 3 reference draws). The same runs from the command line:

    flowmatch train --data moons --source 8gaussians --path bridge --bridge-sigma 0.5 --coupling sb --out RUN
    flowmatch sample RUN --sde --steps 100 --out samples.npy

    OMP_NUM_THREADS=1 python benchmarks/stochastic.py --steps 3000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from flowmatch import TrainConfig, load_run, train
from flowmatch.data import load_data
from flowmatch.metrics import wasserstein2
from flowmatch.runs import sample_run

RUNS = {
    "OT-CFM, 8gaussians -> moons": {"source": "8gaussians", "coupling": "ot", "ot_block": 64},  # blocks of 64, as its figures were measured
    "SB-CFM sigma 0.5, 8gaussians -> moons": {"source": "8gaussians", "path": "bridge", "bridge_sigma": 0.5, "coupling": "sb"},
    "SB-CFM sigma 1, 8gaussians -> moons": {"source": "8gaussians", "path": "bridge", "bridge_sigma": 1.0, "coupling": "sb"},
    "CFM, Gaussian -> moons": {},
}
ODE = [("ODE NFE 1", "euler", 1), ("ODE NFE 4", "midpoint", 2), ("ODE adaptive", "dopri5", 1)]
SDE_STEPS = (10, 30, 100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    data = load_data("moons")
    g = torch.Generator().manual_seed(10_000)
    refs = [data.sample(args.n, g).x for _ in range(3)]
    floor = statistics.median(wasserstein2(data.sample(args.n, g).x, r) for r in refs)

    def w2(x):
        return f"{statistics.median(wasserstein2(x, r) for r in refs):.3f}"

    print("| run | train s | " + " | ".join(n for n, _, _ in ODE) + " | " + " | ".join(f"SDE {k} steps" for k in SDE_STEPS) + " |")
    print("|---|---|" + "---|" * (len(ODE) + len(SDE_STEPS)))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, options) in enumerate(RUNS.items()):
            out = Path(tmp) / str(i)
            start = time.perf_counter()
            train(TrainConfig(data="moons", out=str(out), steps=args.steps, progress=False, save_every=args.steps, **options))
            seconds = time.perf_counter() - start
            run = load_run(out)
            cells = []
            for _, method, steps in ODE:
                res = sample_run(run, args.n, method=method, steps=steps, seed=1)
                cells.append(w2(res.x) + (f" ({res.nfe})" if method == "dopri5" else ""))
            # eta 0 is the ODE by Euler on the same grid: the deterministic figure at the same NFE
            etas = (0.0, 1.0) if options.get("path") == "bridge" else (0.0, 0.5, 1.0, 2.0) if "source" not in options else ()
            sde = {k: [] for k in SDE_STEPS}
            for eta in etas:
                for k in SDE_STEPS:
                    sde[k].append(f"eta {eta:g}: " + w2(sample_run(run, args.n, steps=k, seed=1, sde=True, noise_scale=eta).x))
            cells += ["<br>".join(v) if v else "-" for v in sde.values()]
            print(f"| {name} | {seconds:.0f} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nnoise floor (two fresh draws): {floor:.3f}")


if __name__ == "__main__":
    main()
