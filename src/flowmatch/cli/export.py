"""`flowmatch export`: a run directory to a Hub-style folder (safetensors, config.json, model card)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "export"
HELP = "export a run as a Hub-style folder (safetensors weights, config.json, model card)"
DESCRIPTION = (
    "Write RUN's model (EMA weights by default) to the new folder --out: model.safetensors, config.json with everything "
    "sampling needs, a model card README.md with measured figures and the command that reproduces it, and samples.png. "
    "'flowmatch sample/eval/likelihood DIR' and flowmatch.from_pretrained(DIR) load it. --push-to-hub uploads it (needs the hub extra, a network and a token)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import MAX_SAMPLES, number
    from flowmatch.hub.export import WEIGHTS

    p.add_argument("run", help="run directory written by 'flowmatch train'")
    p.add_argument("--out", required=True, help="a new (or empty) folder for the export")
    p.add_argument("--weights", default="ema", choices=list(WEIGHTS), help="ema (default; the trained weights where the run kept no EMA) or model")
    p.add_argument("--steps", type=number(int, min=1), default=None, help="solver steps the card recommends and the picture uses (default: 1 for a distilled run, else 4)")
    p.add_argument("--eval-steps", default="1,2,8", metavar="LIST", help="2D runs: step counts at which the card reports W2 against fresh data (default 1,2,8)")
    p.add_argument("--n-eval", type=number(int, min=2, max=MAX_SAMPLES), default=2000, help="samples (and reference points) per W2 figure")
    p.add_argument("--eval-draws", type=number(int, min=1, max=100), default=5, help="fresh reference draws per figure (the median is reported)")
    p.add_argument("--no-eval", action="store_true", help="measure nothing (the card says so)")
    p.add_argument("--name", default=None, help="the model's name in the card (default: the folder's name); pretrained:NAME or hf:OWNER/NAME also sets how the card loads it")
    p.add_argument("--description", default="", help="a sentence for the card")
    p.add_argument("--command", dest="reproduce", default=None, help="the command(s) that reproduce the run, for the card (default: derived from its config)")
    p.add_argument("--notes", default=None, metavar="FILE.md", help="markdown appended to the card under 'Notes'")
    p.add_argument("--guidance", type=number(float), default=1.0, help="class-conditional image runs: guidance weight of the picture")
    p.add_argument("--seed", type=number(int, min=0), default=0)
    p.add_argument("--checkpoint", default="last", choices=("last", "best"), help="the run's last checkpoint, or its best by validation (best.pt, kept by --val-data)")
    p.add_argument("--push-to-hub", default=None, metavar="OWNER/NAME", help="then upload the folder to this Hugging Face Hub repository")
    p.add_argument("--private", action="store_true", help="--push-to-hub: create the repository private")
    p.add_argument("--device", default="auto")


def run(args: argparse.Namespace) -> int:
    from flowmatch.errors import FlowmatchError
    from flowmatch.fileio import read_regular
    from flowmatch.hub import export_run
    from flowmatch.parsing import parse_int_list

    eval_steps = parse_int_list(args.eval_steps, "--eval-steps", min_value=1)
    notes = ""
    if args.notes is not None:
        try:
            notes = read_regular(args.notes).decode()
        except (OSError, UnicodeDecodeError) as exc:
            raise FlowmatchError(f"cannot read --notes {args.notes}: {getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    if args.push_to_hub is not None:
        from flowmatch.hub.load import check_hub_id

        if "@" in args.push_to_hub:
            raise FlowmatchError(f"--push-to-hub takes a Hub repository id OWNER/NAME, got {args.push_to_hub!r}")
        check_hub_id(args.push_to_hub, None)
    summary = export_run(
        args.run,
        args.out,
        weights=args.weights,
        steps=args.steps,
        eval_steps=eval_steps,
        n_eval=args.n_eval,
        eval_draws=args.eval_draws,
        measure=not args.no_eval,
        name=args.name,
        description=args.description,
        command=args.reproduce,
        notes=notes,
        guidance=args.guidance,
        device=args.device,
        seed=args.seed,
        checkpoint=args.checkpoint,
    )
    if args.push_to_hub is not None:
        from flowmatch.hub import hf

        summary["url"] = hf.upload_folder(Path(args.out), args.push_to_hub, private=args.private)
    print(json.dumps(summary))
    return 0
