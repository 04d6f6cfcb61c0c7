"""The W2 noise floor of moons: scikit-learn's stratified `make_moons` draws vs i.i.d. draws.

`make_moons(n)` puts exactly n/2 points on each moon at evenly spaced angles, so two of its
draws are closer to each other than any i.i.d. sample, a perfect generator's included, can be
to one; flowmatch draws moons i.i.d. (moon ~ Bernoulli(1/2), angle ~ U(0, pi)). Prints the
median and range of exact W2 between 2,000-point draws for each pairing.

    python benchmarks/moons_floor.py --draws 9
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flowmatch.data.toy import toy_sample  # noqa: E402
from flowmatch.metrics import wasserstein2  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=9)
    p.add_argument("--n", type=int, default=2000)
    args = p.parse_args(argv)
    from sklearn.datasets import make_moons

    rng = np.random.default_rng(0)

    def stratified():
        x, _ = make_moons(args.n, noise=0.1, random_state=int(rng.integers(2**31 - 1)))
        return torch.from_numpy((x - np.array([0.5, 0.25])) * 2.0)

    def iid():
        return torch.from_numpy(toy_sample("moons", args.n, rng))

    for name, (f, g) in {"make_moons vs make_moons": (stratified, stratified), "i.i.d. vs i.i.d.": (iid, iid), "i.i.d. vs make_moons": (iid, stratified)}.items():
        w = [wasserstein2(f(), g()) for _ in range(args.draws)]
        print(f"{name:26s} median W2 {statistics.median(w):.3f}  range {min(w):.3f}-{max(w):.3f}  ({args.draws} pairs of {args.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
