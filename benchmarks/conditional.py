"""Class-conditional 8gaussians -> moons: W2 at NFE 1 and adaptive, independent vs plain OT vs class-aware OT.

The data are moons with their component as the label (0 the upper arc, 1 the lower:
`flowmatch.data.toy_labelled`), 50,000 points written to an .npz (x, y); the source is 8gaussians,
unlabelled (a two-sided flow). Each coupling trains the same model (MLP 3x128, batch 256, --steps
steps, the automatic learning rate, EMA, label dropout 0.1) from each seed; the same as

    flowmatch train --data moons-labelled.npz --source 8gaussians --coupling independent|ot [--no-condition-aware]

Then for each class k: 2,000 samples with --class k (guidance 1) against 2,000 fresh class-k
moons, exact W2 (POT), the median over 3 reference draws, averaged over the two classes.
NFE 1 is one Euler step, NFE 4 two midpoint steps, adaptive dopri5 (atol = rtol = 1e-5). The table
gives the median over the seeds (and each seed's figure).

    OMP_NUM_THREADS=1 python benchmarks/conditional.py --steps 3000 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from flowmatch import TrainConfig, load_run, train
from flowmatch.data import toy_labelled
from flowmatch.metrics import wasserstein2
from flowmatch.runs import sample_run

# OT in blocks of 64 rows, as the figures on its page were measured
VARIANTS = {"independent": {"coupling": "independent"}, "plain OT": {"coupling": "ot", "ot_block": 64, "condition_aware": False}, "class-aware OT": {"coupling": "ot", "ot_block": 64}}
SETTINGS = [("NFE 1", "euler", 1), ("NFE 4", "midpoint", 2), ("adaptive", "dopri5", 0)]


def class_refs(n: int, seed: int) -> dict[int, list[torch.Tensor]]:
    """Three fresh draws of n points of each class."""
    rng = np.random.default_rng(10_000 + seed)
    x, y = toy_labelled("moons", 40 * n, rng)
    return {k: [torch.from_numpy(x[y == k][i * n : (i + 1) * n]) for i in range(3)] for k in (0, 1)}


def evaluate(run, refs, n: int, seed: int) -> dict[str, float]:
    out = {}
    for name, method, steps in SETTINGS:
        w2s, nfe = [], 0
        for k, ref in refs.items():
            res = sample_run(run, n, method=method, steps=max(steps, 1), seed=seed + 1 + k, y=torch.full((n,), k))
            w2s.append(statistics.median(wasserstein2(res.x, r) for r in ref))
            nfe = res.nfe
        out[name] = statistics.mean(w2s)
        out[name + " nfe"] = nfe
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--jsonl", default="", help="also append one JSON line per run to this file")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    refs = class_refs(args.n, 0)
    floor = statistics.mean(statistics.median(wasserstein2(class_refs(args.n, 1)[k][0], r) for r in refs[k]) for k in (0, 1))
    rows: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        x, y = toy_labelled("moons", 50_000, np.random.default_rng(0))
        data = Path(tmp) / "moons-labelled.npz"
        np.savez(data, x=x, y=y)
        for seed in seeds:
            for variant, options in VARIANTS.items():
                out = Path(tmp) / f"{variant}-{seed}".replace(" ", "_")
                start = time.perf_counter()
                cfg = TrainConfig(data=str(data), source="8gaussians", out=str(out), steps=args.steps, seed=seed, progress=False, save_every=args.steps, **options)
                train(cfg)
                row = {"variant": variant, "seed": seed, "steps": args.steps, "train_s": round(time.perf_counter() - start, 1), **evaluate(load_run(out), refs, args.n, seed)}
                rows[variant].append(row)
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as fh:
                        fh.write(json.dumps(row) + "\n")
    print(f"\n| coupling | {' | '.join(name for name, _, _ in SETTINGS)} | train s |")
    print("|---|" + "---|" * (len(SETTINGS) + 1))
    for variant, rs in rows.items():
        cells = []
        for name, _, _ in SETTINGS:
            vals = [r[name] for r in rs]
            nfe = f", NFE {statistics.median(r[name + ' nfe'] for r in rs):.0f}" if name == "adaptive" else ""
            cells.append(f"**{statistics.median(vals):.3f}** ({', '.join(f'{v:.3f}' for v in vals)}{nfe})")
        print(f"| {variant} | {' | '.join(cells)} | {statistics.median(r['train_s'] for r in rs):.0f} |")
    print(f"\nnoise floor (two fresh class draws, mean over classes): {floor:.3f}")


if __name__ == "__main__":
    main()
