"""Images side by side: flowmatch's image defaults, flowmatch's few-step recipe (an OT base, then
one-step distillation), one MeanFlow model, and torchcfm's conditional-MNIST recipe, each trained
for the same wall-time budget on one thread, then scored.

    python benchmarks/images_peers.py --data-dir ../shared/data/mnist-subset --minutes 20

For each method, at NFE 1, 2 and 10 (Euler; an average-velocity model's own sampler: its own step,
and for the few-step recipe's unguided draws the midpoint method on its velocity): the fraction of 2,000
class-conditional samples (200 per digit) that the benchmark's classifier assigns to the requested
digit, and the Fréchet distance of their classifier features to the test split; flowmatch samples are guided at W = 2 (torchcfm's recipe
has no guidance). Also the unguided Fréchet distance at NFE 10 and the real-vs-real floor: the
median over 25 draws of 2,000 train digits against the test split (one draw is too noisy a unit). Trainings run as separate processes, `--parallel` at a
time (2 on this 2-core machine: one core each). torchcfm's recipe (its examples/images/
conditional_mnist.ipynb): UNetModel(dim=(1, 28, 28), num_channels=32, num_res_blocks=1,
class_cond=True, num_classes=10), Adam at its default rate, batch 128,
ConditionalFlowMatcher(sigma=0); torchcfm installs with `pip install --no-deps torchcfm`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

METHODS = ("flowmatch-default", "flowmatch-fewstep", "flowmatch-meanflow", "torchcfm")
NFES = (1, 2, 10)
GUIDANCE = 2.0


# -- training (each in its own process, one thread) ----------------------------------------------
def train_flowmatch(method: str, data_dir: str, minutes: float, out: Path, steps: int, extra: str = "") -> None:
    from flowmatch.cli import main

    args = ["train", *extra.split(), "--data", "mnist", "--data-dir", data_dir, "--model", "unet", "--max-minutes", str(minutes), "--out", str(out), "--no-progress"]
    if steps:
        args += ["--steps", str(steps)]
    if method == "flowmatch-fewstep":  # the recipe: an OT base, then one-step distillation
        args += ["--recipe", "few-step"]
    elif method == "flowmatch-meanflow":  # the same budget on one MeanFlow model
        args += ["--recipe", "few-step", "--objective", "meanflow"]
    code = main(args)
    if code:
        raise SystemExit(code)


def train_torchcfm(data_dir: str, minutes: float, out: Path, steps: int) -> None:
    from torchcfm.conditional_flow_matching import ConditionalFlowMatcher
    from torchcfm.models.unet import UNetModel

    from flowmatch.data import load_data
    from flowmatch.fileio import atomic_write

    data = load_data("mnist", data_dir=data_dir)
    torch.manual_seed(0)
    model = UNetModel(dim=(1, 28, 28), num_channels=32, num_res_blocks=1, num_classes=10, class_cond=True)
    optimizer = torch.optim.Adam(model.parameters())
    fm = ConditionalFlowMatcher(sigma=0.0)
    g = torch.Generator().manual_seed(0)
    deadline = time.perf_counter() + 60 * minutes
    step = 0
    while time.perf_counter() < deadline and (not steps or step < steps):
        batch = data.sample(128, g)
        x0 = torch.randn(batch.x.shape, generator=g)
        t, xt, ut = fm.sample_location_and_conditional_flow(x0, batch.x)
        loss = ((model(t, xt, batch.y) - ut) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "torchcfm.pt", lambda fh: torch.save({"model": model.state_dict(), "step": step}, fh))


# -- sampling and scoring -------------------------------------------------------------------------
def sampler(method: str, out: Path):
    """(sample(x0, y, nfe, scale) -> images or None, steps trained, guidance rescale) for a trained
    method; scale is the guidance weight W (0: unconditional, 1: the class-conditional model alone)."""
    from flowmatch.guidance import GuidedVelocity
    from flowmatch.runs import default_sampler, load_run
    from flowmatch.solvers import FIXED_STEP, solve

    if method == "torchcfm":
        from torchcfm.models.unet import UNetModel

        from flowmatch.runs.checkpoint import safe_load

        state = safe_load(out / "torchcfm.pt")
        model = UNetModel(dim=(1, 28, 28), num_channels=32, num_res_blocks=1, num_classes=10, class_cond=True)
        model.load_state_dict(state["model"])
        model.eval()

        def draw(x0, y, nfe, scale):
            if scale != 1.0:
                return None  # a class-conditional model without a null class: no guidance
            return solve(lambda x, t: model(t, x, y), x0, method="euler", steps=nfe).x

        return draw, state["step"], 0.0
    run = load_run(out, device="cpu")

    def draw(x0, y, nfe, scale):  # guided as `flowmatch sample` guides: with the run's own guidance rescale
        # an average-velocity model (MeanFlow, or the chain's flow-map student) takes its own sampler
        # (the student: its own step when guided, midpoint on its velocity when not); others Euler
        method = default_sampler(run, guided=scale > 1) if run.config.objective in ("meanflow", "flowmap") else "euler"
        velocity = GuidedVelocity(run.model, y, scale, run.data.num_classes, rescale=run.config.guidance_rescale)
        return solve(velocity, x0, method=method, steps=nfe // FIXED_STEP[method].evals_per_step).x

    return draw, run.step, run.config.guidance_rescale


def evaluate(methods, workdir: Path, data_dir: str, n_eval: int, grids: Path | None) -> list[dict]:
    from _mnist_eval import real_vs_real_floor
    from flowmatch.data import load_data
    from flowmatch.evaluation import load_or_train_classifier
    from flowmatch.metrics import classifier_features, classify, frechet_distance
    from flowmatch.runs import save_image_grid

    xtr, ytr = load_data("mnist", data_dir=data_dir).all()
    xte, _ = load_data("mnist", data_dir=data_dir, split="test").all()
    clf = load_or_train_classifier(ROOT / "runs" / "mnist-classifier.pt", xtr, ytr, 10)
    fte = classifier_features(xte, clf)
    draws = real_vs_real_floor(classifier_features(xtr, clf), fte, n_eval)  # a median, not one draw
    floor = statistics.median(draws)
    print(json.dumps({"floor_real_vs_real": round(floor, 2), "floor_draws": len(draws), "floor_min": round(min(draws), 2), "floor_max": round(max(draws), 2), "n_eval": n_eval}), flush=True)
    y = torch.arange(10).repeat_interleave(n_eval // 10)
    x0 = torch.randn(len(y), 1, 28, 28, generator=torch.Generator().manual_seed(2))
    rows = []
    for method in methods:
        draw, steps, rescale = sampler(method, workdir / method)
        row = {"method": method, "train_steps": steps, "floor": round(floor, 2), "guidance_rescale": rescale}
        with torch.no_grad():
            for nfe in NFES:
                x = draw(x0, y, nfe, 1.0 if method == "torchcfm" else GUIDANCE).clamp(-1, 1)
                row[f"acc_nfe{nfe}"] = round(float((classify(x, clf) == y).float().mean()), 4)
                row[f"fd_nfe{nfe}"] = round(frechet_distance(classifier_features(x, clf), fte), 2)
                if grids is not None and nfe in (1, 10):
                    keep = torch.cat([torch.arange(c * (n_eval // 10), c * (n_eval // 10) + 10) for c in range(10)])
                    save_image_grid(x[keep], grids / f"images_{method}_nfe{nfe}.png", ncol=10)
            # "unguided" read two ways: unconditional (W = 0) and the conditional model without
            # guidance (W = 1, what DiT-style tables call "without guidance")
            for key, scale in (("fd_unguided_nfe10", 0.0), ("fd_w1_nfe10", 1.0)):
                free = None if method == "torchcfm" else draw(x0, y, 10, scale)  # torchcfm: no null class; W = 1 is its NFE 10 above
                row[key] = None if free is None else round(frechet_distance(classifier_features(free.clamp(-1, 1), clf), fte), 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    head = "| method | steps | " + " | ".join(f"NFE {k}: acc / FD" for k in NFES) + " | unconditional (W = 0) NFE 10 FD | W = 1 NFE 10 FD |"
    lines = [head, "|---" * (len(NFES) + 4) + "|"]
    for r in rows:
        cells = " | ".join(f"{r[f'acc_nfe{k}']:.3f} / {r[f'fd_nfe{k}']:.1f}" for k in NFES)
        free = " | ".join("—" if r[k] is None else f"{r[k]:.1f}" for k in ("fd_unguided_nfe10", "fd_w1_nfe10"))
        lines.append(f"| {r['method']} | {r['train_steps']} | {cells} | {free} |")
    return "\n".join(lines) + f"\n\nreal-vs-real floor (median of draws): {rows[0]['floor']:.2f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--parallel", type=int, default=2, help="trainings at a time (one thread each)")
    p.add_argument("--n-eval", type=int, default=2000)
    p.add_argument("--steps", type=int, default=0, help="cap on training steps (smoke runs; 0: the budget alone)")
    p.add_argument("--workdir", default=str(ROOT / "runs" / "images-peers"))
    p.add_argument("--grids", default=None, help="folder for 10x10 grids at NFE 1 and 10")
    p.add_argument("--train-args", default="", help="extra `flowmatch train` flags for the flowmatch methods, e.g. '--precision fp32'")
    p.add_argument("--train", default=None, help=argparse.SUPPRESS)  # internal: one training process
    args = p.parse_args()
    torch.set_num_threads(1)
    workdir = Path(args.workdir)
    methods = [m for m in args.methods.split(",") if m]
    if args.train:
        out = workdir / args.train
        if args.train == "torchcfm":
            train_torchcfm(args.data_dir, args.minutes, out, args.steps)
        else:
            train_flowmatch(args.train, args.data_dir, args.minutes, out, args.steps, args.train_args)
        return 0
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    pending, running = list(methods), []
    while pending or running:
        while pending and len(running) < args.parallel:
            m = pending.pop(0)
            cmd = [sys.executable, __file__, "--train", m, "--data-dir", args.data_dir, "--minutes", str(args.minutes), "--workdir", str(workdir), "--steps", str(args.steps)]
            cmd.append("--train-args=" + args.train_args)
            running.append((m, subprocess.Popen(cmd, env=env)))
        time.sleep(1)
        for m, proc in list(running):
            if proc.poll() is not None:
                running.remove((m, proc))
                if proc.returncode:
                    print(f"training {m} failed ({proc.returncode})", file=sys.stderr)
                    return 1
    rows = evaluate(methods, workdir, args.data_dir, args.n_eval, Path(args.grids) if args.grids else None)
    print("\n" + table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
