"""`flowmatch demo`: the README's main job (train moons, draw the pictures)."""

from __future__ import annotations

import argparse
import json

NAME = "demo"
HELP = "train on moons and write the pictures (the README's main job)"
DESCRIPTION = "Train a small flow on moons from a Gaussian, then write samples, trajectories, vector field and loss pictures."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import number

    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    p.add_argument("--steps", type=number(int, min=0), default=5000)


def run(args: argparse.Namespace) -> int:
    from flowmatch.recipes.demo import run_demo

    print(json.dumps(run_demo(args.out, steps=args.steps)))
    return 0
