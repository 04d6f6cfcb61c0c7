"""Few-step generation on points: the distillation recipe against one MeanFlow model, same budget.

    OMP_NUM_THREADS=1 python benchmarks/fewstep_points.py [--datasets moons,checkerboard,rings] [--seconds 60]

For each data set: (a) `--recipe few-step` as it is for points (a minibatch-OT base, then one-step
distillation on its ODE couplings) under a wall-time budget of --seconds, and (b) one MeanFlow
model (`--objective meanflow --coupling ot`, half of each batch on intervals) trained for the same
wall time. Each is sampled from 2,000 source points at NFE 1 and 2 (the distilled model with
Euler, the MeanFlow model with its own step) and scored by the exact W2 to fresh data (median over
3 reference draws); the floor is the median W2 between two fresh draws of the data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from flowmatch import TrainConfig, load_run  # noqa: E402
from flowmatch.data import load_data  # noqa: E402
from flowmatch.metrics import wasserstein2  # noqa: E402
from flowmatch.recipes import RECIPE_LR, RecipeConfig, few_step_recipe  # noqa: E402
from flowmatch.runs import train  # noqa: E402
from flowmatch.solvers import solve  # noqa: E402


def scores(model, method: str, refs, x0) -> dict:
    with torch.no_grad():
        return {f"nfe{k}": round(statistics.median(wasserstein2(solve(model, x0, method=method, steps=k).x, r) for r in refs), 3) for k in (1, 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="moons,checkerboard,rings")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            data = load_data(name)
            g = torch.Generator().manual_seed(10_000 + args.seed)
            refs = [data.sample(2000, g).x for _ in range(3)]
            floor = statistics.median(wasserstein2(data.sample(2000, g).x, r) for r in refs)
            x0 = torch.randn(2000, 2, generator=g)
            start = time.perf_counter()
            cfg = TrainConfig(data=name, out=f"{tmp}/{name}-recipe", seed=args.seed, steps=RecipeConfig.base_steps, lr=RECIPE_LR, progress=False)
            few_step_recipe(cfg, RecipeConfig(budget_seconds=args.seconds))
            recipe_s = time.perf_counter() - start
            recipe = scores(load_run(cfg.out).model, "euler", refs, x0)
            mf_cfg = TrainConfig(
                data=name,
                out=f"{tmp}/{name}-meanflow",
                seed=args.seed,
                objective="meanflow",
                coupling="ot",
                mean_flow_fraction=0.5,
                steps=8000,
                max_minutes=recipe_s / 60,
                progress=False,
                save_every=8000,
            )
            res = train(mf_cfg)
            meanflow = scores(load_run(mf_cfg.out).model, "meanflow", refs, x0)
            row = {"data": name, "floor": round(floor, 3), "recipe_s": round(recipe_s, 1), "recipe": recipe, "meanflow_s": round(res.seconds, 1), "meanflow_steps": res.step, "meanflow": meanflow}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| data | floor | recipe NFE 1 | recipe NFE 2 | MeanFlow NFE 1 | MeanFlow NFE 2 |\n|---|---|---|---|---|---|")
    for r in rows:
        f = r["floor"]
        cells = [f"{r[m][k]:.3f} ({r[m][k] / f:.2f}x)" for m in ("recipe", "meanflow") for k in ("nfe1", "nfe2")]
        print(f"| {r['data']} | {f:.3f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
