"""The few-step recipe: a minibatch-OT base, optional reflow rounds, then one-step distillation.

`train --recipe few-step` runs the chain and leaves the final model in the run directory, with
each stage in a subdirectory of its own.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowmatch.couplings import COUPLINGS
from flowmatch.data import is_image_spec
from flowmatch.fileio import atomic_write, atomic_write_text
from flowmatch.options import check_options, option
from flowmatch.recipes.reflow import reflow, reflow_record, refuse_existing_run
from flowmatch.runs import CHECKPOINT, CONFIG_FILE, load_config, save_config, train
from flowmatch.runs.lock import run_lock
from flowmatch.runs.outputs import check_output
from flowmatch.runs.signals import RunInterrupted
from flowmatch.training import TrainConfig
from flowmatch.training.presets import load_preset

# The base stage's learning rate in `train --recipe few-step` (flags override it): an OT-coupled
# MLP flow came within 0.004 W2 (dopri5) in 8,000 steps at 3e-3 of 20,000 steps at 1e-3
# (docs/benchmarks/index.md). The recipe's base is OT-coupled, so this is auto_lr's OT rate too.
RECIPE_LR = 3e-3
# The base stage's exact-OT block in `train --recipe few-step` (flags override it): blocks of 64
# rows, not the coupling's default pools of 1,024. The distillation straightens what the base
# leaves, so the recipe's one- and two-step figures were measured with blocks of 64 (within 1.2x
# the noise floor on points, docs/benchmarks/fewstep_points.md), and the pool's dearer steps would
# cost the base a large share of its time (and, on images, solves of 1,024 images at once).
RECIPE_OT_BLOCK = 64
# The base's (and so the student's) MLP input on points joins random Fourier features (flags
# override it): a plain MLP learns the sharp edges of thin and blocky densities slowly (spectral
# bias), and a wider one does not help. On checkerboard (8,000 base steps) the base's dopri5 W2 is
# 1.18x the noise floor without them, 1.08x with 64 features at scale 1 (scale 2: 1.10x; 256
# hidden units without features: 1.16x at twice the time), and the two-step W2 1.21x against
# 1.10x. With them 5,000 base steps score as well (RecipeConfig.base_steps; 1.08x), which keeps
# the chain faster than torchcfm's 5,000 exact-OT steps on every 2D set measured
# (docs/benchmarks/fewstep_points.md; 2D sets on the scale of the standard normal source).
RECIPE_FOURIER_FEATURES = 64
# RK4 steps that make the pairs on image data: an ODE solve per image is the chain's dearest part
# on a CPU (RK4 with 4 steps made 5,376 MNIST pairs in 160 s on one core; with 16, a quarter).
IMAGE_SOLVER_STEPS = 4
# On image data the distillation is flow-map distillation of the teacher's RK4 paths, a 0.3 share
# of one-step rows: on MNIST from one base and 12,800 paths, unconditional NFE 10 FD 8.79 against
# 11.21 for the straight-line distillation of the same pairs, one-step guided FD 12.55 against 13.12.
# Its teacher paths take 40% of the stage's time (not half) and 65% of them are unconditional: the
# student is short of steps, and its unconditional samples are its weakest. On one MNIST teacher in
# the same time, unconditional NFE 10 FD 9.38 against 10.4 with half and half, one-step guided
# 0.959 / 12.1 against 0.966 / 12.35.
IMAGE_DISTILL = {
    "solver_steps": IMAGE_SOLVER_STEPS,
    "distill_objective": "flowmap",
    "distill_fraction": 0.3,
    "distill_path_share": 0.4,
    "distill_null_fraction": 0.65,
    # a quarter of the rate that points use: on one MNIST teacher, ~1,000 student steps at base lr x
    # 0.3 / 0.15 / 0.075 / 0.0375 gave unconditional NFE 10 FD 11.9 / 10.8 / 9.9 / 10.0 and one-step
    # guided FD 11.7 / 11.2 / 11.8 / 13.1: a student that moves far from its teacher in few steps
    # loses more than it learns
    "distill_lr_scale": 0.075,
}


def recipe_defaults(data: str) -> dict[str, Any]:
    """The training options `--recipe few-step` starts from, below --preset, --config and the flags:
    the `images-few-step` preset on image data, else the base's steps, learning rate and Fourier
    features; on both, the base's OT block."""
    if is_image_spec(str(data)):
        return {**load_preset("images-few-step"), "ot_block": RECIPE_OT_BLOCK}
    return {"steps": RecipeConfig.base_steps, "lr": RECIPE_LR, "ot_block": RECIPE_OT_BLOCK, "fourier_features": RECIPE_FOURIER_FEATURES}


def image_stages(data: str) -> dict[str, Any]:
    """The stage options the recipe starts from on `data` (`IMAGE_DISTILL` on image data)."""
    return dict(IMAGE_DISTILL) if is_image_spec(str(data)) else {}


@dataclass(frozen=True)
class RecipeConfig:
    """Stage sizes of `train --recipe few-step`: base training, reflow rounds, distillation.

    The measured defaults: a minibatch-OT base (its paths are nearly straight already, so a
    reflow round bought nothing within the same time), then distillation on 32,768 pairs.
    budget_seconds > 0 (else the run's max_minutes, when set) caps the whole chain: the base gets
    base_share of it (3/4), and each later stage an equal share of what is left.
    """

    base_steps: int = option(5000, "--recipe: steps of the base run (--steps sets it)", min=0)
    base_coupling: str = option("ot", "--recipe: coupling of the base run", choices=COUPLINGS)
    reflow_rounds: int = option(0, "--recipe: reflow rounds before distillation (0: the OT base is straight enough)", min=0)
    reflow_steps: int = option(2000, "--recipe: steps of each reflow round", min=0)
    reflow_pairs: int = option(32768, "--recipe: couplings per round", min=1)
    distill_steps: int = option(4000, "--recipe: one-step distillation steps", min=0)
    distill_fraction: float = option(0.5, "--recipe: fraction of each distillation batch at t = 0 (flowmap: one-step rows)", min=0.0, max=1.0)
    distill_objective: str = option("fm", "--recipe: fm distils straight lines between the pairs' ends; flowmap the teacher's paths, into a model for 1 to 10 steps", choices=("fm", "flowmap"))
    distill_guidance: float = option(0.0, "--recipe: flowmap: largest guidance weight of the teacher's paths, learnt as an input (0: guided at sampling)", min=0.0)
    guidance_start: float = option(0.0, "--recipe: with distill-guidance: the teacher is guided from this time (t = 0 is noise)", min=0.0, max=1.0)
    guidance_end: float = option(1.0, "--recipe: with distill-guidance: ... up to this time", min=0.0, max=1.0)
    distill_null_fraction: float = option(0.0, "--recipe: share of the distillation's labelled pairs made for the null class (0: the base's --cond-drop)", min=0.0, max=1.0)
    distill_lr_scale: float = option(0.3, "--recipe: the distillation's learning rate as a fraction of the base's", min=0.0, max=1.0, min_open=True)
    distill_path_share: float = option(0.5, "--recipe: under a time budget, the most of the distillation stage's time its pairs may take", min=0.05, max=0.95)
    solver_steps: int = option(16, "--recipe: RK4 steps that make the couplings", min=1)
    budget_seconds: float = option(0.0, "--recipe: cap on the whole chain's wall time (0: none)", min=0.0)
    base_share: float = option(0.75, "--recipe: under a time cap, the base's share of it (the later stages share the rest)", min=0.05, max=0.95)

    def __post_init__(self):
        check_options(self)


def few_step_recipe(config: TrainConfig, recipe: RecipeConfig | None = None) -> dict:
    """Train base (with recipe.base_coupling), reflow `reflow_rounds` times, then distil; copy the
    final one-step model into config.out and keep the stages in its subdirectories. A config with
    the MeanFlow objective is one run instead: it needs no stages.

    config.out must be a new directory (or hold no run): the recipe never replaces a run.
    """
    recipe = recipe if recipe is not None else RecipeConfig()
    out = check_output(config.out, "--out", directory=True, owner=config.out)  # before an empty --out became "."
    refuse_existing_run(out)  # every stage trains into a new folder: nothing is ever replaced
    try:
        if config.objective == "meanflow":  # one model for 1 to N steps needs no chain of stages
            return _single_run(config, out)
        with run_lock(out):
            return _chain(config, recipe, out)
    except RunInterrupted as exc:  # a recipe starts again into a new --out: it has no --resume
        raise exc.in_a_chain() from None


def _single_run(config: TrainConfig, out: Path) -> dict:
    """`--recipe few-step --objective meanflow`: one MeanFlow run, within config.max_minutes."""
    start = time.perf_counter()
    res = train(config)
    stages = [{"stage": "meanflow", "run": str(out), "step": res.step, "seconds": round(res.seconds, 2)}]
    summary = {"run": str(out), "stages": stages, "seconds": round(time.perf_counter() - start, 2)}
    atomic_write_text(out / "recipe.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _chain(config: TrainConfig, recipe: RecipeConfig, out: Path) -> dict:
    start = time.perf_counter()
    budget = recipe.budget_seconds or config.max_minutes * 60  # --max-minutes caps the whole chain

    def minutes(share: float) -> float:
        if budget <= 0:
            return 0.0
        left = budget - (time.perf_counter() - start)
        return max(left * share, 1.0) / 60.0

    # shares of the remaining budget: the base recipe.base_share, each reflow an equal part of what stays, distil the rest
    n_after = recipe.reflow_rounds + 1
    base_dir = out / "base"
    # the base keeps logit-normal times unless asked otherwise: the student copies the base's
    # many-step paths, which they serve better (checkerboard NFE 1 0.322 against 0.335 with
    # uniform times, docs/benchmarks/fewstep_points.md); uniform times pay off for one Euler step
    # of a plain OT flow, not here
    times = "logit-normal" if config.time_sampling == "auto" else config.time_sampling
    base_cfg = config.replace(out=str(base_dir), steps=recipe.base_steps, max_minutes=minutes(recipe.base_share), save_every=recipe.base_steps, coupling=recipe.base_coupling, time_sampling=times)
    base_res = train(base_cfg)
    stages = [{"stage": "base", "run": str(base_dir), "step": base_res.step, "seconds": round(base_res.seconds, 2)}]
    prev = base_dir
    for k in range(recipe.reflow_rounds):
        d = out / f"reflow{k + 1}"
        r = reflow(
            prev, d, pairs=recipe.reflow_pairs, steps=recipe.reflow_steps, solver_steps=recipe.solver_steps, max_minutes=minutes(1.0 / (n_after - k)), device=config.device, seed=config.seed + 1 + k
        )
        stages.append({"stage": f"reflow{k + 1}", **reflow_record(r)})
        prev = d
    d = out / "distill"
    r = reflow(
        prev,
        d,
        pairs=recipe.reflow_pairs,
        steps=recipe.distill_steps,
        solver_steps=recipe.solver_steps,
        distill_fraction=recipe.distill_fraction,
        objective=recipe.distill_objective,
        lr=config.lr * recipe.distill_lr_scale,
        max_minutes=minutes(1.0),
        device=config.device,
        seed=config.seed + 100,
        guidance=recipe.distill_guidance,
        guidance_interval=(recipe.guidance_start, recipe.guidance_end),
        null_fraction=recipe.distill_null_fraction or None,
        path_share=recipe.distill_path_share,
        steps_per_second=base_res.step / max(base_res.seconds, 1e-9),  # same network and batch: the base's pace
    )
    stages.append({"stage": "distill", **reflow_record(r)})
    with open(d / CHECKPOINT, "rb") as src:
        atomic_write(out / CHECKPOINT, lambda fh: shutil.copyfileobj(src, fh))
    final = load_config(d / CONFIG_FILE)
    save_config(final.replace(out=str(out)), out / CONFIG_FILE)
    summary = {"run": str(out), "stages": stages, "seconds": round(time.perf_counter() - start, 2)}
    # the file also keeps the options the chain was started with (what `flowmatch export` needs to
    # write the command that reproduces it)
    record = {**summary, "config": dataclasses.asdict(config), "recipe": dataclasses.asdict(recipe)}
    atomic_write_text(out / "recipe.json", json.dumps(record, indent=2) + "\n")
    return summary


__all__ = ["IMAGE_DISTILL", "IMAGE_SOLVER_STEPS", "RECIPE_FOURIER_FEATURES", "RECIPE_LR", "RECIPE_OT_BLOCK", "RecipeConfig", "few_step_recipe", "image_stages", "recipe_defaults"]
