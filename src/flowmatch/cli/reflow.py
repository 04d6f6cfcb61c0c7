"""`flowmatch reflow`: retrain a run on its own ODE couplings (rectified flow), or distil it."""

from __future__ import annotations

import argparse
import json

NAME = "reflow"
HELP = "retrain a run on its own ODE couplings (rectified flow)"
DESCRIPTION = "Generate pairs (x0, ODE(x0)) with RUN's model and train --out on them from RUN's weights; prints straightness before and after."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import add_progress_flag, number

    p.add_argument("run")
    p.add_argument("--out", required=True, help="new run directory")
    p.add_argument("--pairs", type=number(int, min=1), default=8192, help="number of couplings (default 8192)")
    p.add_argument("--steps", type=number(int, min=0), default=2000, help="training steps (default 2000)")
    p.add_argument("--lr", type=number(float, min=0, min_open=True), default=None, help="default: RUN's learning rate")
    p.add_argument("--solver-steps", type=number(int, min=1), default=16, help="RK4 steps for the couplings (default 16)")
    p.add_argument("--distill", action="store_true", help="one-step distillation: train at t = 0 only, so that x1 = x0 + v(x0, 0)")
    p.add_argument(
        "--flow-map",
        action="store_true",
        help="flow-map distillation: keep the teacher's paths (--solver-steps RK4 steps) and train a model for 1 to 10 steps along them, 30%% of rows one-step",
    )
    p.add_argument(
        "--guidance",
        type=number(float, min=1),
        default=None,
        metavar="W_MAX",
        help="--flow-map on labelled data: solve each labelled path guided, with a weight from [1, W_MAX], and teach the student the weight as an input",
    )
    p.add_argument(
        "--guidance-interval", type=number(float, min=0, max=1), nargs=2, default=(0.0, 1.0), metavar=("LO", "HI"), help="--guidance: guide the teacher for t in [LO, HI] only (default 0 1)"
    )
    p.add_argument("--device", default="auto")
    add_progress_flag(p)


def run(args: argparse.Namespace) -> int:
    from flowmatch.errors import FlowmatchError
    from flowmatch.recipes import distillation, reflow, reflow_record

    if args.distill and args.flow_map:
        raise FlowmatchError("--distill and --flow-map are two different distillations; choose one")
    if args.guidance is not None and not args.flow_map:
        raise FlowmatchError("--guidance distils guided paths: it needs --flow-map")
    res = reflow(
        args.run,
        args.out,
        pairs=args.pairs,
        steps=args.steps,
        lr=args.lr,
        solver_steps=args.solver_steps,
        device=args.device,
        progress=args.progress,
        **distillation("distill" if args.distill else "flow-map" if args.flow_map else "reflow"),
        guidance=args.guidance or 0.0,
        guidance_interval=tuple(args.guidance_interval),
    )
    print(json.dumps(reflow_record(res)))
    return 0
