"""Side by side with facebookresearch/flow_matching on checkerboards of the sphere and the flat torus.

Both sides train the same network (a 256 x 4 MLP on the point's features and 64 random Fourier
features of them, its output projected onto the tangent space) with the same optimiser, batch, steps and seed, on the same draws; what
differs is the library's path and loss for training (theirs: `GeodesicProbPath` with
the velocity by forward-mode autodiff through the geodesic, and the mean squared error; ours:
`GeodesicPath` with the closed-form velocity and the Riemannian loss) and its sampler (theirs:
`RiemannianODESolver`; ours: `solve_on_manifold`), both midpoint with the same steps.
Figures: training seconds, sampling seconds (the median of interleaved repeats) and NFE, the fraction of samples on the board's
cells (1 for the exact density), and KL(p || model) = NLL of fresh data - entropy of p, both
models' NLL computed by the same likelihood (flowmatch.manifolds, exact divergence).

    OMP_NUM_THREADS=1 python benchmarks/manifolds_peers.py --steps 2000
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch

from flowmatch.likelihood import manifold_log_likelihood
from flowmatch.loss import riemannian_fm_loss
from flowmatch.manifolds import FlatTorus, Sphere, SphereCheckerboard, TangentVelocity, wrap
from flowmatch.models import build_model
from flowmatch.paths import CondOTSchedule, GeodesicPath
from flowmatch.runs import reuse_freed_memory
from flowmatch.solvers import solve_on_manifold


class TorusCheckerboard:
    """Uniform on the cells (i, j), i + j even, of a 4 x 4 grid of [-pi, pi)^2: density 1 / (2 pi^2) on half the torus."""

    cells = 4

    def _cell(self, x):
        return ((x + math.pi) / (2 * math.pi) * self.cells).floor().clamp(0, self.cells - 1)

    def log_prob(self, x):
        c = self._cell(x)
        inside = (c[:, 0] + c[:, 1]) % 2 == 0
        return torch.where(inside, torch.full_like(c[:, 0], -math.log(2 * math.pi**2)), torch.full_like(c[:, 0], -math.inf))

    def sample(self, n, generator=None):
        u = torch.rand((n, 2), generator=generator)
        c = torch.randint(self.cells, (n, 2), generator=generator)
        c[:, 1] = (c[:, 1] - c[:, 1] % 2) + (c[:, 0] % 2)  # i + j even
        return (c + u) / self.cells * 2 * math.pi - math.pi

    def entropy(self):
        return math.log(2 * math.pi**2)


def peer_loss(fm_path, model, x0, x1, t, to_peer, from_peer):
    """flow_matching's recipe: the geodesic path's x_t and dx_t (autodiff), mean squared error."""
    s = fm_path.sample(x_0=to_peer(x0), x_1=to_peer(x1), t=t)
    return (model(from_peer(s.x_t), t) - s.dx_t).pow(2).mean()


def train(side, manifold, board, args, fm_path=None):
    torch.manual_seed(args.seed)
    net = build_model("mlp", (manifold.feature_dim,), hidden=args.hidden, depth=args.depth, fourier_features=args.fourier_features, fourier_scale=args.fourier_scale)
    model = TangentVelocity(net, manifold)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    path = GeodesicPath(manifold, CondOTSchedule())
    g = torch.Generator().manual_seed(args.seed)
    to_peer, from_peer = (lambda x: x % (2 * math.pi), wrap) if isinstance(manifold, FlatTorus) else (lambda x: x, lambda x: x)
    start = time.perf_counter()
    for _ in range(args.steps):
        x1 = board.sample(args.batch_size, g)
        x0 = manifold.random_base(args.batch_size, g)
        t = torch.rand(args.batch_size, generator=g)
        loss = riemannian_fm_loss(model, path, x0, x1, t) if side == "flowmatch" else peer_loss(fm_path, model, x0, x1, t, to_peer, from_peer)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), time.perf_counter() - start


SIDES = ("flowmatch", "flow_matching")


def sample(side, manifold, model, args, solver_cls=None, peer_manifold=None):
    x0 = manifold.random_base(args.n, torch.Generator().manual_seed(args.seed + 1))
    start = time.perf_counter()
    with torch.no_grad():
        if side == "flowmatch":
            res = solve_on_manifold(manifold, model, x0, method="midpoint", steps=args.sample_steps)
            x, nfe = res.x, res.nfe
        else:
            calls = [0]

            class Counted(torch.nn.Module):
                def forward(self, x, t, **_):
                    calls[0] += 1
                    return model(x, t.reshape(-1).expand(len(x)))

            to_peer = (lambda y: y % (2 * math.pi)) if isinstance(manifold, FlatTorus) else (lambda y: y)
            out = solver_cls(peer_manifold, Counted()).sample(to_peer(x0), step_size=1.0 / args.sample_steps, method="midpoint")
            x, nfe = manifold.projx(out), calls[0]
    return x, nfe, time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--fourier-features", type=int, default=64, help="of the network's input (the cells' sharp edges need high frequencies)")
    p.add_argument("--fourier-scale", type=float, default=4.0)
    p.add_argument("--sample-steps", type=int, default=50)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--sample-repeats", type=int, default=5, help="interleaved timings of each side's sampler (the median is reported)")
    p.add_argument("--nll-points", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--glibc-defaults", action="store_true", help="leave glibc's allocator as it is (by default both sides run under the command line's setting, flowmatch.runs.reuse_freed_memory)")
    p.add_argument("--spaces", nargs="+", default=["sphere", "torus"], choices=["sphere", "torus"])
    args = p.parse_args()
    torch.set_num_threads(1)
    # reuse_freed_memory leaves the allocator alone where the environment chose one (MALLOC_*, LD_PRELOAD)
    allocator = "glibc defaults" if args.glibc_defaults else "reuse freed memory" if reuse_freed_memory() else "as the environment set it"
    print(json.dumps({"allocator": allocator}), flush=True)
    from flow_matching.path import GeodesicProbPath
    from flow_matching.path.scheduler import CondOTScheduler
    from flow_matching.solver import RiemannianODESolver
    from flow_matching.utils.manifolds import FlatTorus as PeerTorus
    from flow_matching.utils.manifolds import Sphere as PeerSphere

    for space in args.spaces:
        manifold, board, peer = (Sphere(2), SphereCheckerboard(), PeerSphere()) if space == "sphere" else (FlatTorus(2), TorusCheckerboard(), PeerTorus())
        entropy = board.entropy() if space == "torus" else math.log(2 * math.pi)
        data = board.sample(args.nll_points, torch.Generator().manual_seed(args.seed + 2))
        trained = {side: train(side, manifold, board, args, GeodesicProbPath(CondOTScheduler(), peer)) for side in SIDES}
        # sampling time: the median of interleaved repeats (the machine's load drifts between them)
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        samples = {}
        for _ in range(args.sample_repeats):
            for side in SIDES:
                x, nfe, sample_s = sample(side, manifold, trained[side][0], args, RiemannianODESolver, peer)
                times[side].append(sample_s)
                samples[side] = (x, nfe)
        for side in SIDES:
            (model, train_s), (x, nfe) = trained[side], samples[side]
            sample_s = statistics.median(times[side])
            on_board = float(torch.isfinite(board.log_prob(x.double() if space == "sphere" else x)).float().mean())
            nll = manifold_log_likelihood(manifold, model, data, method="midpoint", steps=args.sample_steps).nll
            row = {"space": space, "library": side, "train_seconds": round(train_s, 1), "steps": args.steps, "sample_seconds": round(sample_s, 2), "nfe": nfe}
            row.update({"on_board": round(on_board, 4), "nll": round(nll, 4), "kl": round(nll - entropy, 4)})
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
