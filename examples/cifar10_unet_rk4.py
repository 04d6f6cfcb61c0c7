"""CIFAR-10 with the U-Net, sampled with fixed-step RK4 through torchdiffeq, class-conditional
with classifier-free guidance, into a PNG grid (one row per class).

    python examples/cifar10_unet_rk4.py --data-dir /path/to/cifar-10-batches-py/.. --steps 20000
"""

import argparse
from pathlib import Path

import torch
from torchdiffeq import odeint

from flowmatch import TrainConfig, load_run, train
from flowmatch.guidance import GuidedVelocity
from flowmatch.runs import save_image_grid


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="folder holding cifar-10-batches-py/ (or the batches)")
    p.add_argument("--steps", type=int, default=20000, help="training steps")
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--rk4-steps", type=int, default=10, help="RK4 steps (NFE = 4 x steps)")
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--per-class", type=int, default=8)
    p.add_argument("--out", default="runs/example-cifar10")
    args = p.parse_args()

    cfg = TrainConfig(
        data="cifar10",
        data_dir=args.data_dir,
        model="unet",
        channels=args.channels,
        channel_mults="1,2,2",
        hflip=True,
        steps=args.steps,
        batch_size=args.batch_size,
        out=args.out,
        save_every=max(1, args.steps),
        progress=False,
    )
    train(cfg)
    run = load_run(args.out)
    k = run.data.num_classes
    y = torch.arange(k).repeat_interleave(args.per_class).to(run.device)  # the run's device: a GPU when present
    v = GuidedVelocity(run.model, y, args.guidance, k)
    x0 = torch.randn(len(y), *run.data.shape, generator=torch.Generator().manual_seed(0)).to(run.device)
    # torchdiffeq calls f(t, x) with a scalar t; our networks take t of shape (B,)
    f = lambda t, x: v(x, t.expand(x.shape[0]))  # noqa: E731
    xs = odeint(f, x0, torch.tensor([0.0, 1.0], device=run.device), method="rk4", options={"step_size": 1.0 / args.rk4_steps})
    out = save_image_grid(xs[-1], Path(args.out) / "samples_rk4.png", ncol=args.per_class)
    print(out, "NFE", v.calls)


if __name__ == "__main__":
    main()
