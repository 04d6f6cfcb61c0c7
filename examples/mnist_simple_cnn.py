"""MNIST with the simple CNN baseline, sampled with 10 Euler steps into a PNG grid.

python examples/mnist_simple_cnn.py --data-dir /path/to/mnist --steps 2000 --out runs/example-mnist-cnn
"""

import argparse
from pathlib import Path

import torch

from flowmatch import TrainConfig, load_run, solve, train
from flowmatch.runs import save_image_grid


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--n", type=int, default=64, help="samples in the grid")
    p.add_argument("--out", default="runs/example-mnist-cnn")
    args = p.parse_args()

    cfg = TrainConfig(
        data="mnist",
        data_dir=args.data_dir,
        model="simple-cnn",
        channels=args.channels,
        depth=4,
        steps=args.steps,
        batch_size=args.batch_size,
        out=args.out,
        save_every=max(1, args.steps),
        progress=False,
    )
    train(cfg)
    run = load_run(args.out)
    x0 = torch.randn(args.n, *run.data.shape, generator=torch.Generator().manual_seed(0)).to(run.device)  # a GPU when present
    res = solve(run.model, x0, method="euler", steps=10)  # unconditional: labels default to the null class
    out = save_image_grid(res.x, Path(args.out) / "samples_euler10.png", ncol=8)
    print(out, "NFE", res.nfe)


if __name__ == "__main__":
    main()
