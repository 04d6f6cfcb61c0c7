"""Measurements behind the few-step defaults, on one task (W2 at Euler NFE 1, 2, 4, 8).

--what time: plain CFM with uniform vs logit-normal training times (and solver time grids).
--what recipe: base -> reflow -> distil with distill_fraction 1.0 vs 0.5.

    python benchmarks/fewstep_tune.py --what time --steps 3000
    python benchmarks/fewstep_tune.py --what recipe --steps 3000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flowmatch import TrainConfig, load_run, train  # noqa: E402
from flowmatch.metrics import wasserstein2  # noqa: E402
from flowmatch.recipes import reflow  # noqa: E402
from flowmatch.solvers import solve  # noqa: E402


def w2_row(run_dir, seed=0, grids=("uniform",), refs=1):
    run = load_run(run_dir, device="cpu")
    x0 = run.source.sample(2000, torch.Generator().manual_seed(10_000 + seed)).x
    g = torch.Generator().manual_seed(20_000 + seed)
    ref = [run.data.sample(2000, g).x for _ in range(refs)]
    out = {}
    for grid in grids:
        for nfe in (1, 2, 4, 8):
            x = solve(run.model, x0, method="euler", steps=nfe, grid=grid).x
            out[f"{grid}/{nfe}"] = round(statistics.median(wasserstein2(x, r) for r in ref), 4)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--what", choices=["time", "recipe"], required=True)
    p.add_argument("--data", default="moons")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--coupling", default="independent")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            if args.what == "time":
                for ts in ("uniform", "logit-normal"):
                    d = Path(tmp) / f"{ts}-{seed}"
                    train(TrainConfig(data=args.data, out=str(d), steps=args.steps, time_sampling=ts, seed=seed, coupling=args.coupling, progress=False, save_every=args.steps))
                    print(json.dumps({"seed": seed, "time_sampling": ts, **w2_row(d, seed, grids=("uniform", "cosine", "late"))}), flush=True)
            else:
                base = Path(tmp) / f"base-{seed}"
                t0 = time.perf_counter()
                train(TrainConfig(data=args.data, out=str(base), steps=args.steps, seed=seed, coupling=args.coupling, progress=False, save_every=args.steps))
                print(json.dumps({"seed": seed, "stage": "base", "s": round(time.perf_counter() - t0, 1), **w2_row(base, seed)}), flush=True)
                t0 = time.perf_counter()
                r1 = reflow(base, Path(tmp) / f"reflow-{seed}", pairs=8192, steps=args.steps * 2 // 3, solver_steps=16)
                print(
                    json.dumps(
                        {"seed": seed, "stage": "reflow", "s": round(time.perf_counter() - t0, 1), "S_before": r1.straightness_before, "S_after": r1.straightness_after, **w2_row(r1.run_dir, seed)}
                    ),
                    flush=True,
                )
                for frac in (1.0, 0.5):
                    t0 = time.perf_counter()
                    r2 = reflow(r1.run_dir, Path(tmp) / f"distill{frac}-{seed}", pairs=8192, steps=args.steps // 3, solver_steps=16, distill_fraction=frac, lr=3e-4)
                    print(json.dumps({"seed": seed, "stage": f"distill{frac}", "s": round(time.perf_counter() - t0, 1), **w2_row(r2.run_dir, seed)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
