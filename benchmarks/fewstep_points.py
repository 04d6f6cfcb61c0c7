"""Few-step generation on points: `train --recipe few-step` against torchcfm's exact-OT CFM, in one run.

    OMP_NUM_THREADS=1 python benchmarks/fewstep_points.py                 # every set, seed 0
    OMP_NUM_THREADS=1 python benchmarks/fewstep_points.py --datasets ringwidths --methods recipe --train '{"ot_block": 256}'

For each data set (a task is DATA, or SOURCE-DATA for a two-sided flow such as 8gaussians-moons):
- torchcfm: torchcfm's ExactOptimalTransportConditionalFlowMatcher(sigma=0), 5,000 steps of
  batch 256, Adam 1e-3, the same MLP (3 hidden layers of 128), timed;
- recipe: what `flowmatch train --recipe few-step --data DATA` runs (its defaults; --train and
  --recipe add options as JSON, for probes), timed by the chain itself; its base flow is also
  scored by dopri5 (`recipe_base_adaptive` in the rows: what the distillation can reach);
- meanflow (with --methods): one `--objective meanflow --coupling ot` model for the recipe's time.
Each is sampled from the same 2,000 source points at NFE 1 and 2 (Euler for torchcfm and the
recipe's distilled model, the MeanFlow step for MeanFlow) and scored by the exact W2 to 2,000
fresh data points (median over 3 reference draws); the floor is the median W2 between two fresh
draws. The acceptance ratios are W2 / floor; "time" compares the recipe's seconds to torchcfm's.
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

import numpy as np  # noqa: E402
import torch  # noqa: E402

from flowmatch import TrainConfig, load_run  # noqa: E402
from flowmatch.data import GaussianSource, load_data  # noqa: E402
from flowmatch.metrics import wasserstein2  # noqa: E402
from flowmatch.models import build_model  # noqa: E402
from flowmatch.recipes import RecipeConfig, few_step_recipe, recipe_defaults  # noqa: E402
from flowmatch.runs import train  # noqa: E402
from flowmatch.solvers import solve  # noqa: E402

DATASETS = "moons,8gaussians-moons,checkerboard,rings,thinwide,ringwidths,thinspirals,ringblob"


def split_task(task: str) -> tuple[str, str]:
    """(source, data): 'gaussian' unless the task is SOURCE-DATA."""
    return tuple(task.split("-", 1)) if "-" in task else ("gaussian", task)


def scores(model, method: str, refs, x0) -> dict:
    with torch.no_grad():
        return {f"nfe{k}": round(statistics.median(wasserstein2(solve(model, x0, method=method, steps=k).x, r) for r in refs), 3) for k in (1, 2)}


# NFE-2 samplers of the distilled model: Euler on three two-step grids (the middle time 0.5, 0.25,
# 0.75) and one midpoint step
NFE2_SAMPLERS = {"euler-uniform": ("euler", "uniform"), "euler-quadratic": ("euler", "quadratic"), "euler-late": ("euler", "late"), "midpoint": ("midpoint", "uniform")}


def adaptive_score(model, refs, x0) -> float:
    """W2 of dopri5 samples (atol = rtol = 1e-5): the flow's own accuracy, without step error."""
    with torch.no_grad():
        x = solve(model, x0, method="dopri5", atol=1e-5, rtol=1e-5).x
        return round(statistics.median(wasserstein2(x, r) for r in refs), 3)


def nfe2_scores(model, refs, x0) -> dict:
    with torch.no_grad():
        out = {}
        for name, (method, grid) in NFE2_SAMPLERS.items():
            x = solve(model, x0, method=method, steps=1 if method == "midpoint" else 2, grid=grid).x
            out[name] = round(statistics.median(wasserstein2(x, r) for r in refs), 3)
        return out


def train_torchcfm(source, data, steps: int, seed: int, batch: int = 256):
    """torchcfm's exact-OT CFM (sigma = 0) on the MLP, Adam 1e-3; (model, seconds)."""
    from torchcfm.conditional_flow_matching import ExactOptimalTransportConditionalFlowMatcher

    torch.manual_seed(seed)
    np.random.seed(seed)  # torchcfm's OT sampler draws from numpy's global RNG
    model = build_model("mlp", (2,), hidden=128, depth=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    fm = ExactOptimalTransportConditionalFlowMatcher(sigma=0.0)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        x1, x0 = data.sample(batch, g).x, source.sample(batch, g).x
        t, xt, ut = fm.sample_location_and_conditional_flow(x0, x1)
        loss = (model(xt, t) - ut).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval().requires_grad_(False), time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=DATASETS)
    p.add_argument("--methods", default="torchcfm,recipe")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torchcfm-steps", type=int, default=5000)
    p.add_argument("--train", default="{}", help="JSON: more TrainConfig options of the recipe (probes)")
    p.add_argument("--recipe", default="{}", help="JSON: RecipeConfig options of the recipe (probes)")
    p.add_argument("--nfe2-samplers", action="store_true", help="also score the recipe's model with every NFE-2 sampler of NFE2_SAMPLERS")
    p.add_argument("--jsonl", default="", help="also append each row to this file")
    args = p.parse_args()
    torch.set_num_threads(1)
    methods = args.methods.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.datasets.split(","):
            src_name, name = split_task(task)
            data = load_data(name)
            source = GaussianSource((2,)) if src_name == "gaussian" else load_data(src_name)
            g = torch.Generator().manual_seed(10_000 + args.seed)
            refs = [data.sample(2000, g).x for _ in range(3)]
            floor = statistics.median(wasserstein2(data.sample(2000, g).x, r) for r in refs)
            x0 = source.sample(2000, g).x
            row = {"data": task, "floor": round(floor, 3), "train": args.train, "recipe_options": args.recipe}
            if "torchcfm" in methods:
                model, seconds = train_torchcfm(source, data, args.torchcfm_steps, args.seed)
                row.update(torchcfm_s=round(seconds, 1), torchcfm=scores(model, "euler", refs, x0))
            if "recipe" in methods:
                cfg = TrainConfig(data=name, source=src_name, out=f"{tmp}/{task}-recipe", seed=args.seed, progress=False, **recipe_defaults(name))  # as the CLI
                cfg = cfg.replace(**json.loads(args.train))
                start = time.perf_counter()
                summary = few_step_recipe(cfg, RecipeConfig(**{"base_steps": cfg.steps, **json.loads(args.recipe)}))
                row["recipe_s"] = round(time.perf_counter() - start, 1)
                row["stages_s"] = {s["stage"]: s["seconds"] for s in summary["stages"]}
                row["recipe"] = scores(load_run(cfg.out).model, "euler", refs, x0)
                row["recipe_base_adaptive"] = adaptive_score(load_run(Path(cfg.out) / "base").model, refs, x0)
                if args.nfe2_samplers:
                    row["recipe_nfe2"] = nfe2_scores(load_run(cfg.out).model, refs, x0)
            if "meanflow" in methods:
                mf = TrainConfig(
                    data=name, source=src_name, out=f"{tmp}/{task}-meanflow", seed=args.seed, objective="meanflow", coupling="ot", mean_flow_fraction=0.5, steps=8000, save_every=8000, progress=False
                )
                res = train(mf.replace(max_minutes=row.get("recipe_s", row.get("torchcfm_s", 60.0)) / 60))
                row.update(meanflow_s=round(res.seconds, 1), meanflow_steps=res.step, meanflow=scores(load_run(mf.out).model, "meanflow", refs, x0))
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    shown = [m for m in ("torchcfm", "recipe", "meanflow") if m in methods]
    print("\n| data | floor | " + " | ".join(f"{m} NFE 1 | {m} NFE 2 | {m} s" for m in shown) + " |")
    print("|---|---|" + "---|---|---|" * len(shown))
    for r in rows:
        f = r["floor"]
        cells = [f"{r[m]['nfe1']:.3f} ({r[m]['nfe1'] / f:.2f}x) | {r[m]['nfe2']:.3f} ({r[m]['nfe2'] / f:.2f}x) | {r[m + '_s']:.0f}" for m in shown]
        print(f"| {r['data']} | {f:.3f} | " + " | ".join(cells) + " |")
    if "recipe" in methods:
        print("\nacceptance (recipe NFE 1 <= 1.3x floor, NFE 2 <= 1.2x, NFE 1 below torchcfm's, seconds <= torchcfm's):")
        for r in rows:
            f, rec = r["floor"], r["recipe"]
            checks = [f"NFE 1 {rec['nfe1'] / f:.2f}x: {'yes' if rec['nfe1'] <= 1.3 * f else 'no'}", f"NFE 2 {rec['nfe2'] / f:.2f}x: {'yes' if rec['nfe2'] <= 1.2 * f else 'no'}"]
            checks.append(f"(base, dopri5 {r['recipe_base_adaptive'] / f:.2f}x)")
            if "torchcfm" in r:
                checks.append(f"vs torchcfm NFE 1 {r['torchcfm']['nfe1']:.3f}: {'yes' if rec['nfe1'] < r['torchcfm']['nfe1'] else 'no'}")
                checks.append(f"time {r['recipe_s']:.0f} s vs {r['torchcfm_s']:.0f} s: {'yes' if r['recipe_s'] <= r['torchcfm_s'] else 'no'}")
            print(f"  {r['data']}: " + "; ".join(checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
