"""Three distillations of one MNIST base's RK4 paths in one training loop, same paths, same steps
`reflow` (straight lines between the pair's ends,
`--distill-objective fm`), `flowmap` (one time: from x_t on the teacher's path,
the direction to its end, (x1 - x_t) / (1 - t)), `map2` (two times: u(x_t, t, h) against
(x_{t+h} - x_t) / h on N-step grids, what `--objective flowmap` became).

    BASE=RUN/base python benchmarks/experiments/distill_probe.py gen 12800 /tmp/paths.pt
    BASE=RUN/base python benchmarks/experiments/distill_probe.py train map2 /tmp/paths.pt 1900 /tmp/m2.pt '{"frac": 0.3}'
    BASE=RUN/base python benchmarks/experiments/distill_probe.py eval /tmp/m2.pt euler:10:0 euler:1:2 euler:10:2

A prototype kept for the record: the library's version is `flowmatch.loss.flow_map_loss`.
"""

import copy
import json
import math
import os
import sys
import time

import torch

from flowmatch.recipes.reflow import pair_labels
from flowmatch.runs import load_run
from flowmatch.solvers import solve

torch.set_num_threads(1)
BASE = os.environ["BASE"]
DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist-subset")
cmd = sys.argv[1]
run = load_run(BASE, device="cpu")
K = 4  # rk4 steps of the teacher


def gen(n, out):
    g = torch.Generator().manual_seed(100)
    x0 = torch.randn(n, 1, 28, 28, generator=g)
    y = pair_labels(n, 10, 0.5, g)
    X, V = [], []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for c in range(0, n, 256):
            xc, yc = x0[c : c + 256], y[c : c + 256]

            def f(x, t, yc=yc):
                return run.model(x, t, y=yc)

            tr = solve(f, xc, method="rk4", steps=K, trajectory=True)
            xs = torch.stack(list(tr.trajectory)).float()
            vs = torch.stack([f(xs[k], torch.full((len(xc),), k / K)).float() for k in range(K + 1)])
            X.append(xs.half())
            V.append(vs.half())
    torch.save({"X": torch.cat(X, 1), "V": torch.cat(V, 1), "y": y}, out)


def hermite(X, V, idx, t):
    s_seg = (t * K).clamp(max=K - 1e-6)
    k = s_seg.floor().long()
    s = (s_seg - k).view(-1, 1, 1, 1)
    h = 1.0 / K
    xa, xb = X[k, idx].float(), X[k + 1, idx].float()
    va, vb = V[k, idx].float(), V[k + 1, idx].float()
    return (2 * s**3 - 3 * s**2 + 1) * xa + (s**3 - 2 * s**2 + s) * h * va + (-2 * s**3 + 3 * s**2) * xb + (s**3 - s**2) * h * vb


def student():
    from flowmatch.models.embeddings import TimeEmbedding

    model = copy.deepcopy(run.model)
    emb = TimeEmbedding(model.time_embed.freq_dim, model.time_embed.mlp[-1].out_features, scale=1000.0)
    torch.nn.init.zeros_(emb.mlp[-1].weight)
    torch.nn.init.zeros_(emb.mlp[-1].bias)
    model.interval_embed = emb
    return model


def train(mode, data, steps, out, lr=6e-4, tmax=0.95, frac=0.5, nmax=10):
    d = torch.load(data)
    X, V, y = d["X"], d["V"], d["y"]
    n = X.shape[1]
    model = student() if mode == "map2" else copy.deepcopy(run.model)
    model.train()
    for p in model.parameters():
        p.requires_grad_(True)
    ema = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, fused=True)
    g = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    for step in range(steps):
        for gr in opt.param_groups:
            gr["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        idx = torch.randint(n, (64,), generator=g)
        x0, x1, yb = X[0, idx].float(), X[-1, idx].float(), y[idx]
        if mode == "reflow":
            t = torch.rand(64, generator=g)
            t = torch.where(torch.rand(64, generator=g) < frac, torch.zeros_like(t), t)
            tt = t.view(-1, 1, 1, 1)
            xt = (1 - tt) * x0 + tt * x1
            target = x1 - x0
        elif mode == "map2":
            N = torch.randint(2, nmax + 1, (64,), generator=g).float()
            N = torch.where(torch.rand(64, generator=g) < frac, torch.ones_like(N), N)
            k = (torch.rand(64, generator=g) * N).floor()
            t, hh = k / N, 1.0 / N
            xt = hermite(X, V, idx, t)
            xe = hermite(X, V, idx, (t + hh).clamp(max=1.0))
            xe = torch.where((t + hh >= 1.0 - 1e-6).view(-1, 1, 1, 1), x1, xe)
            target = (xe - xt) / hh.view(-1, 1, 1, 1)
        else:
            t = torch.rand(64, generator=g) * tmax
            t = torch.where(torch.rand(64, generator=g) < frac, torch.zeros_like(t), t)
            xt = hermite(X, V, idx, t)
            target = (x1 - xt) / (1 - t).view(-1, 1, 1, 1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pred = model(xt, t, y=yb, h=hh) if mode == "map2" else model(xt, t, y=yb)
            loss = (pred.float() - target).pow(2).flatten(1).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            dec = min(0.995, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - dec)
        if step % 200 == 0:
            print(json.dumps({"step": step, "loss": round(loss.item(), 3), "s": round(time.perf_counter() - t0)}), flush=True)
    torch.save(ema.state_dict(), out)


def evaluate(sd_path, cells):
    from flowmatch.data import load_data
    from flowmatch.evaluation import load_or_train_classifier
    from flowmatch.guidance import GuidedVelocity
    from flowmatch.metrics import classifier_features, classify, frechet_distance

    sd = torch.load(sd_path)
    two = any(k.startswith("interval_embed") for k in sd)
    model = student() if two else copy.deepcopy(run.model)
    model.load_state_dict(sd)
    model.eval()
    xtr, ytr = load_data("mnist", data_dir=DATA).all()
    xte, _ = load_data("mnist", data_dir=DATA, split="test").all()
    clf = load_or_train_classifier(os.path.join(os.path.dirname(__file__), "..", "..", "runs", "mnist-classifier.pt"), xtr, ytr, 10)
    fte = classifier_features(xte, clf)
    yy = torch.arange(10).repeat_interleave(200)
    x0 = torch.randn(2000, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    for c in cells:
        m, s, w = c.split(":")
        v = GuidedVelocity(model, yy, float(w), 10)
        with torch.no_grad():
            if two:
                N = int(s)
                x = x0.clone()
                for k in range(N):
                    tt = torch.full((2000,), k / N)

                    def fw(xx, t_, n=N, **c):
                        return model(xx, t_, h=torch.full((len(xx),), 1.0 / n), **c)

                    x = x + (1.0 / N) * GuidedVelocity(fw, yy, float(w), 10)(x, tt)
                x = x.clamp(-1, 1)
            else:
                x = solve(v, x0, method=m, steps=int(s)).x.clamp(-1, 1)
        print(
            json.dumps({"model": sd_path, "cell": c, "acc": round(float((classify(x, clf) == yy).float().mean()), 4), "fd": round(frechet_distance(classifier_features(x, clf), fte), 2)}), flush=True
        )


if cmd == "gen":
    gen(int(sys.argv[2]), sys.argv[3])
elif cmd == "train":
    train(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], **json.loads(sys.argv[6] if len(sys.argv) > 6 else "{}"))
else:
    evaluate(sys.argv[2], sys.argv[3:])
