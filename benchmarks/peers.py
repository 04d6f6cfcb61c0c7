"""Few-step generation, flowmatch vs the public flow-matching libraries, side by side in one run.

Methods, on each task and seed (same MLP: 3 hidden layers of 128, batch 256, `--steps` steps):
  torchcfm-indep   torchcfm ConditionalFlowMatcher(sigma=0), Adam 1e-3 (its 2D example recipe)
  torchcfm-ot      torchcfm ExactOptimalTransportConditionalFlowMatcher(sigma=0), Adam 1e-3
  fm-condot        flow_matching AffinePath(CondOTScheduler()), Adam 1e-3
  flowmatch-indep  flowmatch plain CFM, independent coupling (its defaults: AdamW, cosine LR, EMA)
  flowmatch-ot     flowmatch plain CFM, minibatch-OT coupling (its defaults: exact OT within
                   blocks of 64 rows, solved ahead in the batch pipeline)
  flowmatch-fewstep  `train --recipe few-step` with its defaults (OT base at lr 3e-3, then
                     one-step distillation) capped at the wall time torchcfm-ot took on the
                     same task and seed
Every method is sampled from the same x0 with Euler at NFE 1, 2, 4, 8 and with dopri5
(atol = rtol = 1e-5). W2 is exact (POT) between 2,000 samples and 2,000 fresh data points,
median over `--refs` fresh reference draws; the noise floor is the median W2 between two fresh
draws of 2,000. Tables show medians over seeds.

    python benchmarks/peers.py                       # the full run (3 tasks x 3 seeds, 5,000 steps)
    python benchmarks/peers.py --seeds 1 --steps 200 --tasks moons   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flowmatch.data import GaussianSource, load_data  # noqa: E402
from flowmatch.metrics import wasserstein2  # noqa: E402
from flowmatch.models import build_model  # noqa: E402
from flowmatch.solvers import solve  # noqa: E402

TASKS = {"moons": ("gaussian", "moons"), "8gaussians-moons": ("8gaussians", "moons"), "checkerboard": ("gaussian", "checkerboard")}
PEERS = ("torchcfm-indep", "torchcfm-ot", "fm-condot")
OURS = ("flowmatch-indep", "flowmatch-ot")
NFES = (1, 2, 4, 8)


def peers_available() -> bool:
    try:
        import flow_matching.path  # noqa: F401
        import torchcfm.conditional_flow_matching  # noqa: F401
    except ImportError:
        return False
    return True


def _source(name: str):
    return GaussianSource((2,)) if name == "gaussian" else load_data(name)


def _mlp():
    return build_model("mlp", (2,), hidden=128, depth=3)


def train_peer(method: str, task: str, steps: int, seed: int, batch: int = 256):
    """Train a peer library's recipe; returns (model, seconds)."""
    from flow_matching.path import AffineProbPath
    from flow_matching.path.scheduler import CondOTScheduler
    from torchcfm.conditional_flow_matching import ConditionalFlowMatcher, ExactOptimalTransportConditionalFlowMatcher

    src, dst = (_source(n) for n in TASKS[task])
    torch.manual_seed(seed)
    np.random.seed(seed)  # torchcfm's OT sampler draws from numpy's global RNG
    model = _mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    fm = {"torchcfm-indep": ConditionalFlowMatcher(sigma=0.0), "torchcfm-ot": ExactOptimalTransportConditionalFlowMatcher(sigma=0.0)}.get(method)
    path = AffineProbPath(CondOTScheduler()) if method == "fm-condot" else None
    start = time.perf_counter()
    for _ in range(steps):
        x1 = dst.sample(batch, g).x
        x0 = src.sample(batch, g).x
        if fm is not None:
            t, xt, ut = fm.sample_location_and_conditional_flow(x0, x1)
        else:
            t = torch.rand(batch)
            ps = path.sample(x_0=x0, x_1=x1, t=t)
            xt, ut = ps.x_t, ps.dx_t
        loss = (model(xt, t) - ut).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval().requires_grad_(False), time.perf_counter() - start


def train_ours(method: str, task: str, steps: int, seed: int, workdir: Path, budget: float = 0.0, recipe_steps: int = 0):
    """Train flowmatch (plain CFM, or the few-step recipe under a wall-time budget); (model, seconds)."""
    from flowmatch import TrainConfig, fit, load_run
    from flowmatch.recipes import RecipeConfig, few_step_recipe, recipe_defaults

    src, dst = TASKS[task]
    out = workdir / f"{task}-{method}-{seed}"
    if method == "flowmatch-fewstep":
        recipe = RecipeConfig(budget_seconds=budget)
        if recipe_steps:  # smoke runs: scale every stage down
            n = recipe_steps
            recipe = RecipeConfig(base_steps=n, reflow_steps=max(1, 2 * n // 3), distill_steps=max(1, n // 3), reflow_pairs=min(8192, 64 * n), budget_seconds=budget)
        cfg = TrainConfig(data=dst, source=src, out=str(out), seed=seed, progress=False, **{**recipe_defaults(dst), "steps": recipe.base_steps})  # as the CLI
        start = time.perf_counter()
        few_step_recipe(cfg, recipe)
        seconds = time.perf_counter() - start
        return load_run(out, device="cpu").model, seconds
    coupling = "ot" if method == "flowmatch-ot" else "independent"
    # blocks of 64: the OT flow as the table in docs/benchmarks/index.md was measured
    cfg = TrainConfig(data=dst, source=src, out=str(out), coupling=coupling, ot_block=64, seed=seed, steps=steps, progress=False, save_every=steps)
    result = fit(cfg, callbacks=[])
    return result.model.eval().requires_grad_(False), result.seconds


@torch.no_grad()
def evaluate(model, task: str, seed: int, refs: int, n_eval: int = 2000) -> dict:
    src, dst = (_source(n) for n in TASKS[task])
    x0 = src.sample(n_eval, torch.Generator().manual_seed(10_000 + seed)).x
    ref_g = torch.Generator().manual_seed(20_000 + seed)
    ref_sets = [dst.sample(n_eval, ref_g).x for _ in range(refs)]
    out = {}
    for nfe in NFES:
        x = solve(model, x0, method="euler", steps=nfe).x
        out[f"nfe{nfe}"] = statistics.median(wasserstein2(x, r) for r in ref_sets)
    res = solve(model, x0, method="dopri5", atol=1e-5, rtol=1e-5)
    out["adaptive"] = statistics.median(wasserstein2(res.x, r) for r in ref_sets)
    out["adaptive_nfe"] = res.nfe
    return out


def noise_floor(task: str, seed: int, refs: int, n_eval: int = 2000) -> float:
    dst = _source(TASKS[task][1])
    g = torch.Generator().manual_seed(30_000 + seed)
    return statistics.median(wasserstein2(dst.sample(n_eval, g).x, dst.sample(n_eval, g).x) for _ in range(refs))


def run(tasks, seeds, steps, refs, workdir: Path, methods, log=print, n_eval: int = 2000, recipe_steps: int = 0) -> list[dict]:
    rows = []
    for task in tasks:
        for seed in seeds:
            floor = noise_floor(task, seed, refs, n_eval)
            ot_seconds = None
            for method in methods:
                if method == "flowmatch-fewstep":
                    budget = ot_seconds if ot_seconds is not None else 0.0
                    model, seconds = train_ours(method, task, steps, seed, workdir, budget=budget, recipe_steps=recipe_steps)
                elif method in PEERS:
                    model, seconds = train_peer(method, task, steps, seed)
                else:
                    model, seconds = train_ours(method, task, steps, seed, workdir)
                if method == "torchcfm-ot":
                    ot_seconds = seconds
                row = {"task": task, "seed": seed, "method": method, "train_s": seconds, "floor": floor, **evaluate(model, task, seed, refs, n_eval)}
                rows.append(row)
                log(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}))
    return rows


def table(rows: list[dict]) -> str:
    med = statistics.median
    lines = ["| task | method | W2 NFE 1 | NFE 2 | NFE 4 | NFE 8 | adaptive (NFE) | train s | floor | seeds | seed spread |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = []
    for r in rows:
        if (r["task"], r["method"]) not in keys:
            keys.append((r["task"], r["method"]))
    for task, method in keys:
        rs = [r for r in rows if r["task"] == task and r["method"] == method]
        cells = [f"{med(r[f'nfe{n}'] for r in rs):.3f}" for n in NFES]
        ad = f"{med(r['adaptive'] for r in rs):.3f} ({med(r['adaptive_nfe'] for r in rs):.0f})"
        # seed spread: median over NFE 1/2/4/8 of (max - min) W2 across seeds
        spread = med(max(r[f"nfe{n}"] for r in rs) - min(r[f"nfe{n}"] for r in rs) for n in NFES)
        lines.append(f"| {task} | {method} | {' | '.join(cells)} | {ad} | {med(r['train_s'] for r in rs):.1f} | {med(r['floor'] for r in rs):.3f} | {len(rs)} | {spread:.3f} |")
    return "\n".join(lines)


def acceptance(rows: list[dict]) -> str:
    """The issue's acceptance checks on the medians of `rows`, one line each, with the numbers."""
    med = statistics.median
    cols = [f"nfe{n}" for n in NFES] + ["adaptive"]
    out = []

    def m(task, method, key):
        vals = [r[key] for r in rows if r["task"] == task and r["method"] == method]
        return med(vals) if vals else None

    def spread(task, method):
        rs = [r for r in rows if r["task"] == task and r["method"] == method]
        return med(max(r[c] for r in rs) - min(r[c] for r in rs) for c in cols) if rs else None

    for task in dict.fromkeys(r["task"] for r in rows):
        floor = m(task, "flowmatch-indep", "floor") or m(task, "torchcfm-ot", "floor")
        for ours, peers in (("flowmatch-indep", ("torchcfm-indep", "fm-condot")), ("flowmatch-ot", ("torchcfm-ot",))):
            if m(task, ours, "nfe1") is None:
                continue
            present = [q for q in peers if m(task, q, "nfe1") is not None]
            if not present:
                continue
            diffs = []
            for c in cols:
                best = min(m(task, q, c) for q in present)
                diffs.append(f"{c} {m(task, ours, c):.3f} vs {best:.3f}")
            noise = max(spread(task, q) for q in present + [ours])
            worse = [c for c in cols if m(task, ours, c) > min(m(task, q, c) for q in present) + noise]
            secs = min(m(task, q, "train_s") for q in present)
            out.append(
                f"{task}: {ours} vs best of {'/'.join(present)}: "
                + "; ".join(diffs)
                + f"; worse beyond seed spread {noise:.3f} at: {', '.join(worse) or 'none'}; train s {m(task, ours, 'train_s'):.1f} vs {secs:.1f}"
            )
        if m(task, "flowmatch-fewstep", "nfe1") is not None:
            n1, n2 = m(task, "flowmatch-fewstep", "nfe1"), m(task, "flowmatch-fewstep", "nfe2")
            ot1 = m(task, "torchcfm-ot", "nfe1")
            line = f"{task}: few-step NFE 1 {n1:.3f} = {n1 / floor:.2f}x floor {floor:.3f} (<= 1.5: {'yes' if n1 <= 1.5 * floor else 'NO'})"
            if ot1 is not None:
                line += f", vs torchcfm-ot NFE 1 {ot1:.3f} (below: {'yes' if n1 < ot1 else 'NO'})"
            line += f"; NFE 2 {n2:.3f} = {n2 / floor:.2f}x floor (<= 1.3: {'yes' if n2 <= 1.3 * floor else 'NO'})"
            line += f"; train s {m(task, 'flowmatch-fewstep', 'train_s'):.1f}" + (f" (cap: torchcfm-ot {m(task, 'torchcfm-ot', 'train_s'):.1f})" if ot1 is not None else "")
            out.append(line)
    ratios = []
    for r in rows:
        if r["method"] == "flowmatch-ot":
            ind = [q for q in rows if q["method"] == "flowmatch-indep" and q["task"] == r["task"] and q["seed"] == r["seed"]]
            if ind:
                ratios.append(r["train_s"] / ind[0]["train_s"])
    if ratios:
        out.append(
            f"flowmatch-ot / flowmatch-indep train seconds, per task and seed: median {med(ratios):.2f} "
            f"(range {min(ratios):.2f}-{max(ratios):.2f}, {len(ratios)} pairs; <= 1.3: {'yes' if med(ratios) <= 1.3 else 'NO'})"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma list of {', '.join(TASKS)}")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0, 1, ...)")
    p.add_argument("--steps", type=int, default=5000, help="training steps of the plain runs")
    p.add_argument("--refs", type=int, default=5, help="fresh reference draws per W2")
    p.add_argument("--methods", default=",".join(PEERS + OURS + ("flowmatch-fewstep",)))
    p.add_argument("--recipe-steps", type=int, default=0, help="few-step recipe base steps (0: its defaults; reflow 2/3 and distillation 1/3 of it)")
    p.add_argument("--n-eval", type=int, default=2000, help="generated and reference points per W2")
    p.add_argument("--json", default=None, help="also write every row to this JSON file")
    p.add_argument("--from-logs", nargs="+", default=None, help="only print the table of rows logged (one JSON line each) by earlier runs")
    args = p.parse_args(argv)
    if args.from_logs:
        rows = [json.loads(line) for f in args.from_logs for line in Path(f).read_text().splitlines() if line.startswith("{")]
        print(table(rows))
        print(acceptance(rows))
        return 0
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        p.error(f"unknown task(s) {unknown}")
    methods = [m for m in args.methods.split(",") if m]
    if any(m in PEERS for m in methods) and not peers_available():
        print("peers not installed: pip install --no-deps torchcfm flow_matching (the 'bench' extra)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # the same single-threaded budget for every method
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(tasks, range(args.seeds), args.steps, args.refs, Path(tmp), methods, log=lambda s: print(s, flush=True), n_eval=args.n_eval, recipe_steps=args.recipe_steps)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print(table(rows))
    print(acceptance(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
