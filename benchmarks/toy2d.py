"""Toy 2D benchmark: W2 of generated samples against fresh data, per data set and coupling.

For each data set and coupling, trains a flow (MLP 3x128, batch 256, AdamW 1e-3, EMA), then
measures the exact W2 (POT) between 2,000 samples and 2,000 fresh data points at NFE 1 (Euler),
2, 4, 8 (midpoint with 1, 2, 4 steps) and with dopri5 (atol = rtol = 1e-5), each the median over
3 fresh reference draws; the noise floor is the median W2 between two fresh data draws.

    python benchmarks/toy2d.py                                  # every data set and coupling
    python benchmarks/toy2d.py --datasets moons --couplings independent,ot --steps 5000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from flowmatch import TrainConfig, load_run, train
from flowmatch.data import TOY_SETS, load_data
from flowmatch.metrics import wasserstein2
from flowmatch.runs import sample_run

NFE_SETTINGS = [("1", "euler", 1), ("2", "midpoint", 1), ("4", "midpoint", 2), ("8", "midpoint", 4)]


def median_w2(x, refs) -> float:
    return statistics.median(wasserstein2(x, r) for r in refs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(TOY_SETS))
    ap.add_argument("--couplings", default="independent,ot,sinkhorn")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    header = "| data | coupling | train s | NFE 1 | NFE 2 | NFE 4 | NFE 8 | dopri5 (NFE) | noise floor |"
    print(header)
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            data = load_data(name)
            g = torch.Generator().manual_seed(10_000 + args.seed)
            refs = [data.sample(args.n, g).x for _ in range(3)]
            floor = statistics.median(wasserstein2(data.sample(args.n, g).x, r) for r in refs)
            for coupling in args.couplings.split(","):
                out = Path(tmp) / f"{name}-{coupling}"
                start = time.perf_counter()
                train(TrainConfig(data=name, out=str(out), coupling=coupling, steps=args.steps, seed=args.seed, progress=False, save_every=args.steps))
                seconds = time.perf_counter() - start
                run = load_run(out)
                cells = [f"{median_w2(sample_run(run, args.n, method=s, steps=k, seed=args.seed + 1).x, refs):.3f}" for _, s, k in NFE_SETTINGS]
                ad = sample_run(run, args.n, method="dopri5", seed=args.seed + 1)
                cells.append(f"{median_w2(ad.x, refs):.3f} ({ad.nfe})")
                print(f"| {name} | {coupling} | {seconds:.0f} | " + " | ".join(cells) + f" | {floor:.3f} |", flush=True)


if __name__ == "__main__":
    main()
