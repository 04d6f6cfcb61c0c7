"""`flowmatch train`: every option of the training config as a flag, a config file, resume, recipes."""

from __future__ import annotations

import argparse
import dataclasses
import json

NAME = "train"
HELP = "train a flow on a data set"
DESCRIPTION = "Train a flow-matching model. Options come from the defaults (for image data: the image preset), then --preset, then --config, then the flags."
RECIPE_FLAGS = (
    "budget_seconds",
    "base_share",
    "reflow_steps",
    "reflow_rounds",
    "reflow_pairs",
    "distill_steps",
    "distill_objective",
    "distill_null_fraction",
    "distill_path_share",
    "distill_lr_scale",
    "solver_steps",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import add_options
    from flowmatch.recipes import RecipeConfig
    from flowmatch.training.config import SECTIONS
    from flowmatch.training.presets import PRESETS

    p.add_argument("--config", default=None, help="a .toml, .yaml or .json file of options (keys as the long flags); flags override it")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--recipe", default=None, choices=["few-step"], help="few-step: one model for 1 to N steps (an OT base, then one-step distillation; with --objective meanflow: one MeanFlow run)")
    p.add_argument("--preset", default=None, choices=list(PRESETS), help="a named set of options (flowmatch/training/presets/*.toml), below --config and the flags")
    seen: set[str] = set()
    for sec in SECTIONS:
        names = {f.name for f in dataclasses.fields(sec)}
        group = p.add_argument_group(sec.__name__.removesuffix("Config").lower() + " options")
        add_options(group, sec, skip=tuple(seen))
        seen |= names
    add_options(p.add_argument_group("recipe options"), RecipeConfig, skip=tuple(f.name for f in dataclasses.fields(RecipeConfig) if f.name not in RECIPE_FLAGS))


def run(args: argparse.Namespace) -> int:
    from flowmatch.cli.common import given
    from flowmatch.errors import FlowmatchError
    from flowmatch.options import build
    from flowmatch.runs import read_config_file, train
    from flowmatch.runs.identity import resume_base
    from flowmatch.training import TrainConfig, distributed
    from flowmatch.training.presets import load_preset

    flags = given(args, TrainConfig)
    file = read_config_file(args.config) if args.config else {}
    preset = load_preset(args.preset) if args.preset else {}
    layers = [preset, file, flags]  # below them, TrainConfig's defaults for the data (the image preset)
    if args.recipe == "few-step":
        from flowmatch.recipes import recipe_defaults

        data = flags.get("data", file.get("data", preset.get("data", TrainConfig.data)))
        layers = [recipe_defaults(str(data)), *layers]
    if args.resume and args.recipe is None:
        out = build(TrainConfig, *layers).out  # the directory the flags, or else --config, name
        base = resume_base(out)
        if base is not None:  # the run's own options are the base; --preset, --config and the flags change it (refused unless they may)
            layers = [base, preset, file, flags, {"out": out}]
    if args.recipe == "few-step":
        if args.resume:
            raise FlowmatchError("--resume does not apply to --recipe: a recipe trains every stage into a new directory")
        from flowmatch.recipes import RecipeConfig, few_step_recipe, image_stages

        config = build(TrainConfig, *layers)
        stages = build(RecipeConfig, {"base_steps": config.steps, **image_stages(config.data)}, {k: getattr(args, k) for k in RECIPE_FLAGS if hasattr(args, k)})
        print(json.dumps(few_step_recipe(config, stages)))
        return 0
    result = train(build(TrainConfig, *layers), resume=args.resume)
    if not distributed.is_main_process():  # under torchrun only rank 0 reports
        return 0
    loss = None if result.loss != result.loss else round(result.loss, 6)  # NaN: no step was run now
    print(json.dumps({"run": str(result.run_dir), "step": result.step, "loss": loss, "seconds": round(result.seconds, 2)}))
    return 0
