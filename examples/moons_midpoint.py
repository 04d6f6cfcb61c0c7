"""2D moons from a Gaussian, sampled with the midpoint solver; a panel of the samples' positions
at several times along their trajectories.

    python examples/moons_midpoint.py --steps 3000 --out runs/example-moons
"""

import argparse
from pathlib import Path

import torch

from flowmatch import TrainConfig, load_run, solve, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="training steps")
    p.add_argument("--solver-steps", type=int, default=8, help="midpoint steps (NFE = 2 x steps)")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--out", default="runs/example-moons")
    args = p.parse_args()

    train(TrainConfig(data="moons", out=args.out, steps=args.steps, save_every=max(1, args.steps), progress=False))
    run = load_run(args.out)
    x0 = torch.randn(args.n, 2, generator=torch.Generator().manual_seed(0)).to(run.device)  # a GPU when present
    res = solve(run.model, x0, method="midpoint", steps=args.solver_steps, trajectory=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = torch.linspace(0, len(res.times) - 1, 5).round().long()
    fig, axes = plt.subplots(1, len(picks), figsize=(3 * len(picks), 3), sharex=True, sharey=True)
    for ax, k in zip(axes, picks):
        pts = res.trajectory[k].cpu()
        ax.scatter(pts[:, 0], pts[:, 1], s=1, alpha=0.5)
        ax.set_title(f"t = {res.times[k]:.2f}")
        ax.set_aspect("equal")
    fig.suptitle(f"midpoint, NFE {res.nfe}")
    fig.tight_layout()
    out = Path(args.out) / "trajectory_panel.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(out)


if __name__ == "__main__":
    main()
