"""Discrete flow matching on the 2D discrete checkerboard: flowmatch vs facebookresearch/flow_matching.

One run trains both on the recipe of flow_matching's `2d_discrete_flow_matching` notebook: two
tokens of vocabulary 128, uniform source, kappa_t = t^2, generalised-KL loss, Adam at 1e-3, batch
4096, the same number of steps, and the same MLP (each token embedded in 128 dimensions, t
through Linear(1, 1), 3 hidden layers of 128, 128 x 2 logits), initialised alike from the seed;
`--network token-mlp` gives flowmatch its own `token-mlp` of the same shape instead (t through a
32-wide sinusoidal embedding). Both see the same data draws (the notebook's law), in alternating
chunks of 100 steps, so that both meet the same load on a shared machine (each one's training
time sums its own chunks). Then each samples `--samples` points at NFE 8, 16 and 64 (flow_matching:
MixtureDiscreteEulerSolver over [0, 1 - 1e-3] with step 1/NFE, as in the notebook; flowmatch:
`sample_discrete`, the Euler step in kappa) and the total variation of the 128 x 128 histogram to
the exact law is printed, beside the Monte-Carlo floor (the TV of as many exact draws).

    OMP_NUM_THREADS=1 python benchmarks/discrete_peers.py                 # 5,000 steps, 10^6 samples
    OMP_NUM_THREADS=1 python benchmarks/discrete_peers.py --steps 30000 --samples 1000000   # the notebook's protocol
    OMP_NUM_THREADS=1 python benchmarks/discrete_peers.py --steps 1500 --samples 100000   # the four-seed table
    OMP_NUM_THREADS=1 python benchmarks/discrete_peers.py --steps 50 --samples 20000   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flowmatch.data import DiscreteCheckerboard  # noqa: E402
from flowmatch.discrete import MixturePath, PolynomialKappa, Posterior, discrete_loss, draw_training, sample_discrete  # noqa: E402
from flowmatch.models import build_model  # noqa: E402

VOCAB, HIDDEN, BATCH, LR = 128, 128, 4096, 1e-3


class NotebookMLP(nn.Module):
    """The network of flow_matching's 2D discrete notebook (token embeddings, t through Linear(1, 1), Swish MLP)."""

    def __init__(self, vocab: int = VOCAB, hidden: int = HIDDEN, length: int = 2):
        super().__init__()
        self.vocab = vocab
        self.time_embedding = nn.Linear(1, 1)
        self.token_embedding = nn.Embedding(vocab, hidden)
        self.main = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden * length + 1, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, vocab * length)
        )

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        h = torch.cat([self.token_embedding(x).flatten(1), self.time_embedding(t[:, None])], dim=1)
        return self.main(h).reshape(x.shape[0], x.shape[1], self.vocab)


def tv(x: Tensor, p: Tensor) -> float:
    hist = torch.bincount(x[:, 0] * VOCAB + x[:, 1], minlength=VOCAB * VOCAB).double() / len(x)
    return 0.5 * float((hist - p.reshape(-1)).abs().sum())


def fm_trainer(seed: int):
    """One training step of flow_matching's recipe per call (returns the model)."""
    from flow_matching.loss import MixturePathGeneralizedKL
    from flow_matching.path import MixtureDiscreteProbPath
    from flow_matching.path.scheduler import PolynomialConvexScheduler

    torch.manual_seed(seed)
    model = NotebookMLP()
    path = MixtureDiscreteProbPath(scheduler=PolynomialConvexScheduler(n=2.0))
    loss_fn = MixturePathGeneralizedKL(path=path)
    optim = torch.optim.Adam(model.parameters(), lr=LR)

    def step(x1: Tensor) -> nn.Module:
        optim.zero_grad()
        x0 = torch.randint_like(x1, high=VOCAB)
        t = torch.rand(x1.shape[0]) * (1 - 1e-3)
        sample = path.sample(t=t, x_0=x0, x_1=x1)
        loss = loss_fn(logits=model(sample.x_t, sample.t), x_1=x1, x_t=sample.x_t, t=sample.t)
        loss.backward()
        optim.step()
        return model

    return step


def our_trainer(seed: int, network: str):
    """One training step of flowmatch's discrete flow on the same recipe per call (returns the model)."""
    torch.manual_seed(seed)
    path = MixturePath(PolynomialKappa(2.0), VOCAB, "uniform")
    model = NotebookMLP() if network == "notebook" else build_model("token-mlp", (2,), vocab=VOCAB, hidden=HIDDEN, depth=3)
    optim = torch.optim.Adam(model.parameters(), lr=LR)
    g = torch.Generator().manual_seed(seed)

    def step(x1: Tensor) -> nn.Module:
        optim.zero_grad()
        draw = draw_training(path, x1, "kl", g)
        loss = discrete_loss(path, model(draw.x_t, draw.t), x1, draw, "kl")
        loss.backward()
        optim.step()
        return model

    return step, path


def train_both(batches: list[Tensor], seed: int, network: str, chunk: int = 100) -> tuple[nn.Module, nn.Module, MixturePath, float, float]:
    """Both trained on the same batches, alternating chunks of `chunk` steps so that both meet the
    same load of a shared machine; each one's time is the sum of its own chunks."""
    fm_step, (our_step, path) = fm_trainer(seed), our_trainer(seed, network)
    fm_time = our_time = 0.0
    for i in range(0, len(batches), chunk):
        for which in ("fm", "ours"):
            start = time.perf_counter()
            for x1 in batches[i : i + chunk]:
                model = fm_step(x1) if which == "fm" else our_step(x1)
            if which == "fm":
                fm_model, fm_time = model, fm_time + time.perf_counter() - start
            else:
                our_model, our_time = model, our_time + time.perf_counter() - start
    return fm_model, our_model, path, fm_time, our_time


@torch.inference_mode()
def sample_fm(model: nn.Module, n: int, nfe: int, chunk: int) -> tuple[Tensor, float]:
    from flow_matching.path import MixtureDiscreteProbPath
    from flow_matching.path.scheduler import PolynomialConvexScheduler
    from flow_matching.solver import MixtureDiscreteEulerSolver
    from flow_matching.utils import ModelWrapper

    class Probs(ModelWrapper):
        def forward(self, x, t, **extras):
            return torch.softmax(self.model(x, t), dim=-1)

    solver = MixtureDiscreteEulerSolver(model=Probs(model), path=MixtureDiscreteProbPath(scheduler=PolynomialConvexScheduler(n=2.0)), vocabulary_size=VOCAB)
    start, out = time.perf_counter(), []
    for i in range(0, n, chunk):
        x0 = torch.randint(VOCAB, (min(chunk, n - i), 2))
        out.append(solver.sample(x_init=x0, step_size=1 / nfe, time_grid=torch.tensor([0.0, 1 - 1e-3])))
    return torch.cat(out), time.perf_counter() - start


@torch.inference_mode()
def sample_ours(model: nn.Module, path: MixturePath, n: int, nfe: int, chunk: int, seed: int) -> tuple[Tensor, float, int]:
    g = torch.Generator().manual_seed(seed)
    start, out, nfes = time.perf_counter(), [], set()
    for i in range(0, n, chunk):
        res = sample_discrete(Posterior(model), path, path.sample_source((min(chunk, n - i), 2), g), steps=nfe, generator=g)
        out.append(res.x)
        nfes.add(res.nfe)
    return torch.cat(out), time.perf_counter() - start, max(nfes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--nfe", default="8,16,64")
    ap.add_argument("--chunk", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--network", default="notebook", choices=("notebook", "token-mlp"), help="flowmatch's network: the notebook's MLP (the same as flow_matching's) or its own token-mlp")
    ap.add_argument("--out", default="", help="append the results as JSON lines to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    nfes = [int(v) for v in args.nfe.split(",")]
    data, p = DiscreteCheckerboard(), DiscreteCheckerboard.probabilities()
    g = torch.Generator().manual_seed(args.seed)
    batches = [data.sample(BATCH, g).x for _ in range(args.steps)]
    floor = tv(data.sample(args.samples, torch.Generator().manual_seed(args.seed + 1)).x, p)
    print(f"network {args.network}, seed {args.seed}, threads 1, {args.steps} steps of batch {BATCH}, {args.samples} samples; Monte-Carlo floor of the TV: {floor:.4f}", flush=True)
    fm_model, our_model, path, fm_time, our_time = train_both(batches, args.seed, args.network)
    print(f"flow_matching  trained in {fm_time:.1f} s ({sum(q.numel() for q in fm_model.parameters())} parameters)", flush=True)
    print(f"flowmatch      trained in {our_time:.1f} s ({sum(q.numel() for q in our_model.parameters())} parameters)", flush=True)
    rows = []
    for nfe in nfes:
        x_fm, s_fm = sample_fm(fm_model, args.samples, nfe, args.chunk)
        x_our, s_our, n_our = sample_ours(our_model, path, args.samples, nfe, args.chunk, args.seed)
        row = {
            "nfe": nfe,
            "flowmatch_nfe": n_our,
            "tv_flow_matching": round(tv(x_fm, p), 4),
            "tv_flowmatch": round(tv(x_our, p), 4),
            "sample_s_flow_matching": round(s_fm, 1),
            "sample_s_flowmatch": round(s_our, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {
        "network": args.network,
        "seed": args.seed,
        "steps": args.steps,
        "samples": args.samples,
        "floor": round(floor, 4),
        "train_s_flow_matching": round(fm_time, 1),
        "train_s_flowmatch": round(our_time, 1),
        "rows": rows,
    }
    print(json.dumps(summary))
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(json.dumps(summary) + "\n")
    assert all(math.isfinite(r["tv_flowmatch"]) for r in rows)


if __name__ == "__main__":
    main()
