"""`flowmatch sample`: solve the ODE from the source to t = 1 and save the samples."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

NAME = "sample"
HELP = "draw samples from a trained run"
DESCRIPTION = "Solve the ODE (or, with --sde, an SDE with the same marginals) from the source to t=1 and save the samples; a discrete run simulates its chain over tokens."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import MAX_SAMPLES, number
    from flowmatch.discrete import DISCRETE_METHODS, GUIDANCE_SPACES
    from flowmatch.runs.recommend import MAX_STEPS
    from flowmatch.solvers import GRIDS, MANIFOLD_SOLVERS, SOLVERS

    p.add_argument("run", metavar="MODEL", help="a run directory, an exported folder (flowmatch export), pretrained:NAME (flowmatch pretrained) or hf:OWNER/NAME")
    p.add_argument("--n", type=number(int, min=1, max=MAX_SAMPLES), default=None, help="number of samples (default 2000, or one per row of --condition)")
    p.add_argument(
        "--out",
        required=True,
        help="FILE.npy (array (N, D), or (N, C, H, W) in [-1, 1] for images; tokens (N, L) for a discrete run) or FILE.png (scatter plot, image grid, or the 2D discrete histogram beside the truth); FILE.txt: the text of a discrete text run",
    )
    p.add_argument(
        "--solver",
        default=None,
        choices=list(dict.fromkeys((*SOLVERS, *MANIFOLD_SOLVERS, *DISCRETE_METHODS))),
        help="default: the run's recommended solver (its model card's; else midpoint, euler for a one-step distilled run, an average-velocity model's own step; rk4 with --density-guidance); exp-*: along geodesics, for runs on a manifold; a discrete run: kappa, the Euler step of its chain in kappa",
    )
    p.add_argument(
        "--steps",
        type=number(int, min=1, max=MAX_STEPS),
        default=None,
        help="solver steps of a fixed-step solver (default: the run's recommended count: 1 for a one-step model, 16 with --density-guidance, 50 on a manifold, 64 for a discrete run, else 4)",
    )
    p.add_argument("--grid", default="uniform", choices=list(GRIDS), help="time grid of fixed-step solvers")
    p.add_argument("--atol", type=number(float, min=0, min_open=True), default=1e-5)
    p.add_argument("--rtol", type=number(float, min=0, min_open=True), default=1e-5)
    p.add_argument("--seed", type=number(int, min=0), default=0)
    p.add_argument("--trajectory", default=None, help="also draw the trajectories to this PNG")
    p.add_argument("--device", default="auto")
    p.add_argument("--checkpoint", default="last", choices=("last", "best"), help="a run directory's last checkpoint, or its best by validation (best.pt, kept by --val-data)")
    p.add_argument("--density-guidance", type=number(float), default=0.0, metavar="LAMBDA", help="mode-seeking guidance: follow v + LAMBDA grad(-div v) (default 0: off)")
    p.add_argument("--class", dest="class_", default=None, help="class id, or 'all' (one row per class); default: unconditional")
    p.add_argument("--condition", default=None, metavar="FILE.npy", help="continuous conditions of a run trained with them: (K,) for every sample, or (M, K), one sample per row")
    p.add_argument("--sde", action="store_true", help="integrate the SDE with the ODE's marginals (Euler-Maruyama, --steps steps): Gaussian-source runs and bridge runs")
    p.add_argument("--noise-scale", type=number(float, min=0), default=1.0, help="--sde: scale of the diffusion (0: the ODE by Euler; default 1)")
    p.add_argument("--guidance", type=number(float), default=1.0, help="classifier-free guidance weight W: v_null + W (v_class - v_null) (default 1)")
    p.add_argument(
        "--guidance-interval",
        type=number(float, min=0, max=1),
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="apply W only for t in [LO, HI] (t = 0 is noise), W = 1 elsewhere: early guidance narrows the samples most",
    )
    p.add_argument(
        "--guidance-rescale",
        type=number(float, min=0, max=1),
        default=None,
        metavar="PHI",
        help="pull the spread of the guided data prediction back toward the conditional one by PHI (0: plain guidance; default: the run's own)",
    )
    d = p.add_argument_group("discrete runs")
    d.add_argument("--temperature", type=number(float, min=0, min_open=True), default=1.0, help="divide the posterior's logits by this (below 1: sharper samples)")
    d.add_argument(
        "--corrector", type=number(float, min=0), default=0.0, help="weight of the corrector (divergence-free) term, which sends tokens back to the source as others move to the data (default 0: off)"
    )
    d.add_argument("--guidance-space", default="logits", choices=list(GUIDANCE_SPACES), help="combine the class and null posteriors on their logits (normalised) or on the chain's rates")


def run(args: argparse.Namespace) -> int:
    # long: every flag is checked here, in one place, before anything is sampled or written
    import numpy as np

    from flowmatch.errors import FlowmatchError
    from flowmatch.fileio import atomic_write
    from flowmatch.hub import load_model
    from flowmatch.runs import class_labels, sample_run, save_image_grid
    from flowmatch.runs.outputs import check_output

    out = check_output(args.out, "--out", suffixes=(".npy", ".png", ".txt"), inputs=(args.condition,))
    if args.trajectory is not None:
        check_output(args.trajectory, "--trajectory", suffixes=(".png",), inputs=(args.condition, args.out))
    if args.sde and args.solver:
        raise FlowmatchError(f"--sde integrates by Euler-Maruyama; --solver {args.solver} applies to the ODE")
    if args.noise_scale != 1.0 and not args.sde:
        raise FlowmatchError("--noise-scale applies to --sde sampling")
    conditions = _read_conditions(args.condition) if args.condition else None
    run = load_model(args.run, device=args.device, checkpoint=args.checkpoint)
    if run.discrete:
        from flowmatch.cli.sample_tokens import sample_tokens_command

        return sample_tokens_command(run, args)
    discrete_only = [
        flag
        for flag, used in (("--temperature", args.temperature != 1.0), ("--corrector", args.corrector), ("--guidance-space", args.guidance_space != "logits"), ("--out FILE.txt", out.suffix == ".txt"))
        if used
    ]
    if discrete_only:
        hint = "; this run's --out must end in .npy or .png" if discrete_only[0].startswith("--out") else ""
        raise FlowmatchError(f"{discrete_only[0]} applies to discrete runs (flows on tokens){hint}")
    manifold = run.config.manifold if run.config.manifold != "euclidean" else None
    images = len(run.data.shape) == 3
    if not run.data.num_classes and (args.class_ is not None or args.guidance != 1.0 or args.guidance_interval or args.guidance_rescale):
        raise FlowmatchError("--class and --guidance apply to class-conditional runs (trained on labelled data)")
    if images and args.trajectory:
        raise FlowmatchError("--trajectory draws 2D runs only; save image samples with --out FILE.png or FILE.npy")
    n = args.n or 2000
    rows = 0 if conditions is None else len(conditions)
    if rows > 1:  # one sample per row
        if args.n is not None and args.n != rows:
            raise FlowmatchError(f"--condition holds {rows} rows (one sample each) but --n is {args.n}")
        n = rows
    labels = class_labels(args.class_, n, run.data.num_classes)
    n = len(labels) if labels is not None else n
    if rows == 1:
        conditions = conditions.expand(n, -1)
    elif rows and rows != n:
        raise FlowmatchError(f"--class all draws {n} samples; give one condition for all of them, or {n} rows")
    start = time.perf_counter()
    res = sample_run(
        run,
        n,
        method=args.solver,
        steps=args.steps,
        seed=args.seed,
        grid=args.grid,
        trajectory=args.trajectory is not None,
        atol=args.atol,
        rtol=args.rtol,
        y=labels,
        c=conditions,
        guidance=args.guidance,
        guidance_interval=tuple(args.guidance_interval) if args.guidance_interval else None,
        guidance_rescale=args.guidance_rescale,
        density_guidance=args.density_guidance,
        sde=args.sde,
        noise_scale=args.noise_scale,
    )
    seconds = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy" and manifold is not None:  # in the data files' coordinates: latitude/longitude, angles
        from flowmatch.data import to_file_coordinates

        coords = to_file_coordinates(res.x, manifold, run.config.degrees)
        atomic_write(out, lambda fh: np.save(fh, coords))
    elif out.suffix == ".npy":
        atomic_write(out, lambda fh: np.save(fh, res.x.cpu().numpy()))
    elif manifold is not None:
        from flowmatch.viz import plot_manifold_points

        plot_manifold_points(res.x, manifold, out, title=f"{res.method}, NFE {res.nfe}")
    elif images:  # a PNG grid; --class all: one row per class
        ncol = n // run.data.num_classes if str(args.class_).lower() == "all" else math.ceil(math.sqrt(n))
        save_image_grid(res.x, out, ncol=ncol)
    else:
        from flowmatch.viz import plot_points

        plot_points(res.x, out, title=f"{res.method}, NFE {res.nfe}")
    if args.trajectory and manifold is not None:
        from flowmatch.viz import plot_manifold_trajectories

        plot_manifold_trajectories(res.trajectory, manifold, args.trajectory)
    elif args.trajectory:
        from flowmatch.viz import plot_trajectories

        plot_trajectories(res.trajectory, args.trajectory)
    print(json.dumps(_record(args, res, out, n, seconds, run.data.num_classes)))
    return 0


def _record(args: argparse.Namespace, res, out: Path, n: int, seconds: float, num_classes: int) -> dict:
    """The printed record: what was applied, as sample_run reports it (solver, steps, rescale)."""
    record = {"out": str(out), "n": n, "solver": res.method, "steps": res.steps, "nfe": res.nfe, "seconds": round(seconds, 3)}
    if num_classes:  # nfe counts solver calls; a guided call is one batched pass
        record.update({"class": args.class_, "guidance": args.guidance})
        if args.guidance_interval:
            record["guidance_interval"] = list(args.guidance_interval)
        if res.guidance_rescale is not None:
            record["guidance_rescale"] = res.guidance_rescale
    if args.condition:
        record["condition"] = args.condition
    if args.sde:
        record["noise_scale"] = args.noise_scale
    if args.density_guidance:
        record["density_guidance"] = args.density_guidance
    return record


def _read_conditions(path: str):
    """--condition FILE.npy -> float32 tensor (M, K): a (K,) array is one row."""
    import torch

    from flowmatch.data.points import load_condition_rows

    return torch.from_numpy(load_condition_rows(path))
