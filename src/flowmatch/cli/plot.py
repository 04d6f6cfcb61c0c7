"""`flowmatch plot`: the standard pictures of a trained 2D run."""

from __future__ import annotations

import argparse
import json

NAME = "plot"
HELP = "pictures of a trained 2D run"
DESCRIPTION = "Samples vs data, trajectories, vector field at several t, loss curve."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import MAX_SAMPLES, add_progress_flag, number

    p.add_argument("run")
    p.add_argument("--out", required=True, help="directory for the PNG files")
    p.add_argument("--n", type=number(int, min=2, max=MAX_SAMPLES), default=2000)
    p.add_argument("--device", default="auto")
    p.add_argument("--density", action="store_true", help="also draw density.png: the model's log-density on a grid beside a data histogram")
    add_progress_flag(p)


def run(args: argparse.Namespace) -> int:
    from flowmatch.viz import plot_run

    files = plot_run(args.run, args.out, n=args.n, device=args.device, density=args.density, progress=args.progress)
    print(json.dumps({"out": str(args.out), "files": [str(f) for f in files]}))
    return 0
