"""The packaged models: W2 of pretrained:moons at NFE 1, 2 and 8 against the noise floor, and the
wall time of `flowmatch sample pretrained:moons --steps 1` from a fresh process.

    OMP_NUM_THREADS=1 python benchmarks/pretrained.py [--draws 5] [--seeds 0,100,200]

Each W2 is exact (POT) between 2,000 samples and 2,000 fresh moons, the median over --draws
pairs of a fresh sample set and a fresh reference draw; the floor is the median over --draws
pairs of fresh draws (flowmatch.evaluation.w2_figures, as the model card). One table per seed
of the whole measurement (seed 0 is the card's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import flowmatch  # noqa: E402
from flowmatch.evaluation import w2_figures  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="pretrained:moons")
    p.add_argument("--draws", type=int, default=5)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seeds", default="0,100,200")
    args = p.parse_args(argv)
    model = flowmatch.from_pretrained(args.model)
    print(f"{args.model}: W2 of {args.n} samples vs fresh data, median over {args.draws} pairs of draws")
    print("| seed | NFE 1 | NFE 2 | NFE 8 | floor | NFE 1 / floor | NFE 2 / floor | NFE 8 / floor |\n|---|---|---|---|---|---|---|---|")
    for seed in map(int, args.seeds.split(",")):
        f = w2_figures(model, [1, 2, 8], method="euler", n=args.n, draws=args.draws, seed=seed)
        w = [r["w2"] for r in f.rows]
        print(f"| {seed} | {w[0]:.3f} | {w[1]:.3f} | {w[2]:.3f} | {f.floor:.3f} | " + " | ".join(f"{x / f.floor:.2f}" for x in w) + " |")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "flowmatch", "sample", args.model, "--steps", "1", "--out", str(Path(tmp) / "x.png")], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
    print(f"flowmatch sample {args.model} --steps 1 --out x.png: {wall:.1f} s wall from a fresh process ({json.loads(r.stdout)['seconds']} s sampling)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
