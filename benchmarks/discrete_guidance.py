"""Classifier-free guidance of a discrete flow: the labelled discrete checkerboard (class = quadrant).

Trains flowmatch's discrete flow with its defaults (mask source, linear kappa, token-mlp, label
dropout 0.1) by `flowmatch.training.Trainer` (or loads a run trained by `flowmatch train --data
discrete-checkerboard`, `--run DIR`), then draws `--n` samples per quadrant at NFE 16 for each
guidance weight, on the posterior's logits and on the chain's rates, and prints the share of
samples in the requested quadrant, and the TV of each class's samples to its exact conditional law.

    OMP_NUM_THREADS=1 python benchmarks/discrete_guidance.py
    OMP_NUM_THREADS=1 python benchmarks/discrete_guidance.py --run runs/discrete-checkerboard
    OMP_NUM_THREADS=1 python benchmarks/discrete_guidance.py --steps 50 --n 500   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flowmatch.data import DiscreteCheckerboard  # noqa: E402
from flowmatch.discrete import GuidedPosterior, sample_discrete  # noqa: E402
from flowmatch.evaluation import histogram_tv  # noqa: E402
from flowmatch.runs import load_run  # noqa: E402
from flowmatch.training import TrainConfig, Trainer, default_callbacks  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--n", type=int, default=10_000, help="samples per quadrant")
    ap.add_argument("--nfe", type=int, default=16)
    ap.add_argument("--weights", default="1,2,4")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run", default="", help="a trained discrete-checkerboard run directory (skips training)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.run:
        run = load_run(args.run)
        model, path = run.model, run.path
        print(json.dumps({"run": args.run, "steps": run.step, "source": run.config.discrete_source, "kappa": run.config.kappa}), flush=True)
    else:
        config = TrainConfig(data="discrete-checkerboard", steps=args.steps, batch_size=args.batch_size, seed=args.seed, progress=False)
        trainer = Trainer(config)
        start = time.perf_counter()
        result = trainer.fit(default_callbacks(config))
        print(json.dumps({"steps": result.step, "train_s": round(time.perf_counter() - start, 1), "loss": round(result.loss, 4), "source": config.discrete_source, "kappa": config.kappa}), flush=True)
        model, path = result.model, trainer.objective.mixture
    p = DiscreteCheckerboard.probabilities()
    grid = torch.arange(128)
    quadrant = DiscreteCheckerboard.quadrant(torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)).reshape(128, 128)
    rows = []
    for space in ("logits", "rates"):
        for w in (float(v) for v in args.weights.split(",")):
            hits, tvs = [], []
            for k in range(4):
                g = torch.Generator().manual_seed(args.seed + k)
                y = torch.full((args.n,), k)
                with torch.no_grad():
                    res = sample_discrete(GuidedPosterior(model, y, w, 4, space), path, path.sample_source((args.n, 2), g), steps=args.nfe, generator=g)
                hits.append(float((DiscreteCheckerboard.quadrant(res.x) == k).double().mean()))
                pk = torch.where(quadrant == k, p, torch.zeros_like(p))
                tvs.append(histogram_tv(res.x, pk / pk.sum()))
            row = {"space": space, "guidance": w, "nfe": res.nfe, "in_quadrant": round(min(hits), 4), "in_quadrant_mean": round(sum(hits) / 4, 4), "tv_to_class_law_mean": round(sum(tvs) / 4, 4)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    draws = DiscreteCheckerboard().sample(4 * args.n, torch.Generator().manual_seed(99))
    class0 = draws.x[draws.y == 0][: args.n]  # exact draws of one class, as many as a class's samples
    p0 = torch.where(quadrant == 0, p, torch.zeros_like(p))
    print(json.dumps({"n_per_class": args.n, "note": "in_quadrant: the worst of the four classes", "tv_floor": round(histogram_tv(class0, p0 / p0.sum()), 4)}))


if __name__ == "__main__":
    main()
