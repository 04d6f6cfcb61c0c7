"""C2OT's class-conditional 8gaussians -> moons, with its protocol, trained from the command line.

The task and metric of Cheng et al., "The Curse of Conditions: Analyzing and Improving Optimal
Transport for Conditional Flow-Based Generation" (C2OT, ICCV 2025), whose table gives, for their
class-conditional OT flow, W2^2 0.048 with one Euler step and 0.018 with an adaptive solver:

- data: moons as C2OT draws them (the two arcs at evenly spaced angles, each point shifted along
  the diagonal by U(0, 0.2), then scaled by 3 and shifted by -1), labelled by arc; source: eight
  Gaussians at radius 5 with variance sqrt(0.1) per axis. Both are written to .npz files (200,000
  points each), the data with its labels, so that the run is the plain command
  `flowmatch train --data moons-c2ot.npz --source 8gaussians-c2ot.npz --coupling ot
  --steps 20000 --batch-size 256 --lr 3e-4` (the coupling is class-aware by default);
- metric: 10,000 reference moons (evenly spaced, as C2OT's evaluation draws them) with their
  labels; 10,000 fresh source points are carried to t = 1 with the reference labels as the
  condition, by one Euler step and by dopri5 (atol = rtol = 1e-5); W2^2 is exact (POT's network
  simplex) between the two point sets. The table gives the median over the seeds.

    OMP_NUM_THREADS=1 python benchmarks/c2ot.py                          # 3 seeds, 20,000 steps
    OMP_NUM_THREADS=1 python benchmarks/c2ot.py --seeds 0 --steps 5000 --flags "--ot-block 0"
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from flowmatch import load_run
from flowmatch.metrics import wasserstein2
from flowmatch.solvers import solve

PUBLISHED = {"euler1": 0.048, "adaptive": 0.018}  # C2OT's table, class-conditional 8gaussians -> moons


def c2ot_moons(n: int, rng: np.random.Generator, even: bool) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) moons and (n,) arc labels in C2OT's convention: half the points on each arc, at evenly
    spaced angles (even=True) or uniform ones, a diagonal shift U(0, 0.2), then x 3 - 1."""
    upper = n // 2
    angle = np.concatenate([np.linspace(0, np.pi, upper), np.linspace(0, np.pi, n - upper)]) if even else np.pi * rng.random(n)
    labels = np.repeat([0, 1], [upper, n - upper])
    arc = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    x = np.where(labels[:, None] == 0, arc, np.array([1.0, 0.5]) - arc) + 0.2 * rng.random((n, 1))
    return (3 * x - 1).astype(np.float32), labels.astype(np.int64)


def c2ot_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) points of C2OT's source: eight Gaussians at radius 5, covariance sqrt(0.1) I."""
    angle = rng.integers(8, size=n) * np.pi / 4
    centres = 5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return (centres + 0.1**0.25 * rng.standard_normal((n, 2))).astype(np.float32)


@torch.no_grad()
def evaluate(run_dir: Path, n: int, seed: int) -> dict:
    run = load_run(run_dir, device="cpu")
    rng = np.random.default_rng(50_000 + seed)
    ref, labels = c2ot_moons(n, rng, even=True)
    x0 = torch.from_numpy(c2ot_gaussians(n, rng))
    cond = {"y": torch.from_numpy(labels)}
    euler = solve(run.model, x0, method="euler", steps=1, cond=cond).x
    adaptive = solve(run.model, x0, method="dopri5", atol=1e-5, rtol=1e-5, cond=cond)
    return {"euler1": round(wasserstein2(euler, ref) ** 2, 4), "adaptive": round(wasserstein2(adaptive.x, ref) ** 2, 4), "adaptive_nfe": adaptive.nfe}


def floor(n: int) -> float:
    """W2^2 between C2OT's evenly spaced reference and an i.i.d. draw of the same distribution."""
    rng = np.random.default_rng(1)
    return round(wasserstein2(c2ot_moons(n, rng, even=True)[0], c2ot_moons(n, rng, even=False)[0]) ** 2, 4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n", type=int, default=10000, help="points of the W2^2 evaluation")
    ap.add_argument("--flags", default="", help="more `flowmatch train` flags, e.g. '--ot-block 0'")
    ap.add_argument("--jsonl", default="", help="also append one JSON line per run to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        x, y = c2ot_moons(200_000, rng, even=False)
        np.savez(f"{tmp}/moons-c2ot.npz", x=x, y=y)
        np.savez(f"{tmp}/8gaussians-c2ot.npz", x=c2ot_gaussians(200_000, rng))
        for seed in (int(s) for s in args.seeds.split(",")):
            out = Path(tmp) / f"run-{seed}"
            cmd = ["flowmatch", "train", "--data", f"{tmp}/moons-c2ot.npz", "--source", f"{tmp}/8gaussians-c2ot.npz", "--coupling", "ot"]
            cmd += ["--steps", str(args.steps), "--batch-size", "256", "--lr", "3e-4", "--seed", str(seed), "--out", str(out), "--no-progress", *shlex.split(args.flags)]
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", *cmd], check=True, stdout=subprocess.DEVNULL)
            row = {"seed": seed, "steps": args.steps, "flags": args.flags, "train_s": round(time.perf_counter() - start, 1), **evaluate(out, args.n, seed)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    med = {k: statistics.median(r[k] for r in rows) for k in ("euler1", "adaptive", "adaptive_nfe", "train_s")}
    print(f"\nflags: {args.flags or '(defaults)'}; floor (i.i.d. vs evenly spaced reference, {args.n} points): W2^2 {floor(args.n)}")
    print("| | Euler, 1 step | adaptive (NFE) | train s |\n|---|---|---|---|")
    print(f"| C2OT (published) | {PUBLISHED['euler1']} | {PUBLISHED['adaptive']} | |")
    print(f"| flowmatch, median of {len(rows)} | {med['euler1']:.4f} | {med['adaptive']:.4f} ({med['adaptive_nfe']:.0f}) | {med['train_s']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
