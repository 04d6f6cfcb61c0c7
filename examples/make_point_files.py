"""Write the small point files that the documentation's commands train on, into one folder.

    python examples/make_point_files.py runs/data

- `points.csv`: 5,000 points of two moons, one row each (`x,y` header), as a spreadsheet would
  export them: the shape of "your own CSV".
- `moons-labelled.npz`: 20,000 moons points `x` (N, 2) with the moon each came from as the class
  label `y` (N,) (0 the upper moon, 1 the lower): a class-conditional flow.
- `conditioned.npz`: 20,000 points `x` (N, 2) on circles whose radius is the continuous
  condition `c` (N, 1), radius in [0.5, 2]: an x-conditional flow.
- `c.npy`: the condition (1,) of one sample to draw, radius 1.5.
- `moons-outliers.npz`: 19,000 moons points and 1,000 outliers (5%) on the ring 7 < |x| < 9:
  what unbalanced and partial OT couplings are for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from flowmatch.data import toy_labelled


def write_point_files(out: Path, seed: int = 0) -> list[Path]:
    """Write the five files into `out` (made if missing) and return their paths."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    x, _ = toy_labelled("moons", 5_000, rng)
    np.savetxt(out / "points.csv", x, delimiter=",", header="x,y", comments="", fmt="%.5f")
    x, y = toy_labelled("moons", 20_000, rng)
    np.savez(out / "moons-labelled.npz", x=x, y=y)
    radius = rng.uniform(0.5, 2.0, 20_000).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi, 20_000)
    ring = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1) + 0.05 * rng.standard_normal((20_000, 2))
    np.savez(out / "conditioned.npz", x=ring.astype(np.float32), c=radius[:, None])
    np.save(out / "c.npy", np.array([1.5], dtype=np.float32))
    clean, _ = toy_labelled("moons", 19_000, rng)
    r, a = rng.uniform(7, 9, 1_000), rng.uniform(0, 2 * np.pi, 1_000)
    outliers = np.stack([r * np.cos(a), r * np.sin(a)], 1)
    np.savez(out / "moons-outliers.npz", x=np.concatenate([clean, outliers]).astype(np.float32))
    return [out / n for n in ("points.csv", "moons-labelled.npz", "conditioned.npz", "c.npy", "moons-outliers.npz")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="runs/data", help="folder to write into (default runs/data)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for path in write_point_files(Path(args.out), args.seed):
        print(path)


if __name__ == "__main__":
    main()
