"""`flowmatch pretrained`: the models shipped in the package (one JSON line each)."""

from __future__ import annotations

import argparse
import json

NAME = "pretrained"
HELP = "list the pretrained models shipped in the package"
DESCRIPTION = "One JSON line per packaged model: its name (pretrained:NAME, for sample, eval, likelihood and from_pretrained), data, shape, classes, recommended sampler and steps, and its model card."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", default=None, help="show only this model (NAME or pretrained:NAME)")
    p.add_argument("--card", action="store_true", help="print the model card (README.md) of NAME instead")


def run(args: argparse.Namespace) -> int:
    from flowmatch.errors import FlowmatchError
    from flowmatch.hub import PREFIX, describe_pretrained, pretrained_folder, pretrained_names

    if args.card:
        if not args.name:
            raise FlowmatchError("--card needs a model NAME (see 'flowmatch pretrained')")
        print((pretrained_folder(args.name.removeprefix(PREFIX)) / "README.md").read_text(), end="")
        return 0
    names = [args.name.removeprefix(PREFIX)] if args.name else pretrained_names()
    for name in names:
        print(json.dumps(describe_pretrained(name)))
    return 0
