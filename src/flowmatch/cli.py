"""The `flowmatch` command line: parses arguments and calls the library, nothing more.

Every user mistake ends with exit code 2 and one line `error: ...` on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from flowmatch.errors import FlowmatchError


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus an error; we print the one line the contract promises."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


S = argparse.SUPPRESS  # only flags the user gave override the config file and the defaults


def _train_args(p: argparse.ArgumentParser) -> None:
    from flowmatch.couplings import COUPLINGS
    from flowmatch.paths import SCHEDULES
    from flowmatch.training import LR_SCHEDULES, TIME_SAMPLING

    p.add_argument("--data", default=S, help="built-in 2D set (moons, circles, 8gaussians, checkerboard, spirals, swissroll, pinwheel) or a .npy/.npz/.csv file of shape (N, D)")
    p.add_argument("--out", default=S, help="run directory (checkpoint, config.json, log.jsonl)")
    p.add_argument("--config", default=None, help="a .toml or .yaml file of options; flags override it")
    p.add_argument("--source", default=S, help="'gaussian' (default) or a data set as for --data (two-sided flow)")
    p.add_argument("--path", default=S, choices=list(SCHEDULES), help="probability path (default condot)")
    p.add_argument("--sigma-min", type=float, default=S, help="condot path: sigma at t=1 (default 0)")
    p.add_argument("--coupling", default=S, choices=list(COUPLINGS), help="pairing of source and data in a batch")
    p.add_argument("--sinkhorn-reg", type=float, default=S, help="entropic regularisation for --coupling sinkhorn")
    p.add_argument("--time-sampling", default=S, choices=list(TIME_SAMPLING), help="distribution of training times (default logit-normal: measured better at NFE 1-8, docs/benchmarks.md)")
    p.add_argument("--model", default=S, help="velocity network (default mlp)")
    p.add_argument("--hidden", type=int, default=S, help="MLP width (default 128)")
    p.add_argument("--depth", type=int, default=S, help="MLP hidden layers (default 3)")
    p.add_argument("--steps", type=int, default=S, help="training steps (default 5000)")
    p.add_argument("--batch-size", type=int, default=S, help="batch size (default 256)")
    p.add_argument("--lr", type=float, default=S, help="AdamW learning rate (default 1e-3)")
    p.add_argument("--weight-decay", type=float, default=S)
    p.add_argument("--lr-schedule", default=S, choices=list(LR_SCHEDULES))
    p.add_argument("--warmup-steps", type=int, default=S)
    p.add_argument("--grad-clip", type=float, default=S, help="clip the gradient norm (0: off)")
    p.add_argument("--ema-decay", type=float, default=S, help="EMA of weights, used for sampling (0: off; default 0.999)")
    p.add_argument("--seed", type=int, default=S)
    p.add_argument("--save-every", type=int, default=S, help="checkpoint every K steps (default 1000)")
    p.add_argument("--log-every", type=int, default=S)
    p.add_argument("--max-minutes", type=float, default=S, help="stop at this wall time with a final checkpoint")
    p.add_argument("--device", default=S, help="auto (cuda if present), cpu or cuda")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=S, help="no progress bar")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--prefetch", type=int, default=S, help="batches drawn ahead in a worker thread (0: synchronous; default 1)")
    p.add_argument("--recipe", default=None, choices=["few-step"], help="few-step: train, reflow, distil; RUN ends as the one-step model")
    p.add_argument("--budget-seconds", type=float, default=0.0, help="--recipe: cap on the whole chain's wall time (0: none)")
    p.add_argument("--reflow-steps", type=int, default=None, help="--recipe: steps of each reflow round (default 2000)")
    p.add_argument("--reflow-rounds", type=int, default=None, help="--recipe: reflow rounds before distillation (default 1)")
    p.add_argument("--reflow-pairs", type=int, default=None, help="--recipe: couplings per round (default 8192)")
    p.add_argument("--distill-steps", type=int, default=None, help="--recipe: one-step distillation steps (default 1000)")


def _sample_args(p: argparse.ArgumentParser) -> None:
    from flowmatch.solvers import GRIDS, SOLVERS

    p.add_argument("run", help="run directory written by 'flowmatch train'")
    p.add_argument("--n", type=int, default=2000, help="number of samples")
    p.add_argument("--out", required=True, help="FILE.npy (array (N, D)) or FILE.png (scatter plot)")
    p.add_argument("--solver", default=None, choices=list(SOLVERS), help="default: the run's own (midpoint; euler for a distilled run)")
    p.add_argument("--steps", type=int, default=4, help="solver steps (fixed-step solvers)")
    p.add_argument("--grid", default="uniform", choices=list(GRIDS), help="time grid of fixed-step solvers")
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trajectory", default=None, help="also draw the trajectories to this PNG")
    p.add_argument("--device", default="auto")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flowmatch", description="Train, sample and plot flow-matching generative models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _train_args(sub.add_parser("train", help="train a flow on a data set", description="Train a flow-matching model. Options come from defaults, then --config, then flags."))
    _sample_args(sub.add_parser("sample", help="draw samples from a trained run", description="Solve the ODE from the source to t=1 and save the samples."))
    p = sub.add_parser("reflow", help="retrain a run on its own ODE couplings (rectified flow)", description="Generate pairs (x0, ODE(x0)) with RUN's model and train --out on them from RUN's weights; prints straightness before and after.")
    p.add_argument("run")
    p.add_argument("--out", required=True, help="new run directory")
    p.add_argument("--pairs", type=int, default=8192, help="number of couplings (default 8192)")
    p.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    p.add_argument("--lr", type=float, default=None, help="default: RUN's learning rate")
    p.add_argument("--solver-steps", type=int, default=16, help="RK4 steps for the couplings (default 16)")
    p.add_argument("--distill", action="store_true", help="one-step distillation: train at t = 0 only, so that x1 = x0 + v(x0, 0)")
    p.add_argument("--device", default="auto")
    p = sub.add_parser("plot", help="pictures of a trained 2D run", description="Samples vs data, trajectories, vector field at several t, loss curve.")
    p.add_argument("run")
    p.add_argument("--out", required=True, help="directory for the PNG files")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--device", default="auto")
    p = sub.add_parser("demo", help="train on moons and write the pictures (the README's main job)", description="Train a small flow on moons from a Gaussian, then write samples, trajectories, vector field and loss pictures.")
    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    p.add_argument("--steps", type=int, default=5000)
    return parser


def _cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from flowmatch.config import build_config, load_config, read_config_file
    from flowmatch.training import CONFIG_FILE, TrainConfig, train

    recipe_keys = ("budget_seconds", "reflow_steps", "reflow_rounds", "reflow_pairs", "distill_steps")
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config", "resume", "recipe", *recipe_keys)}
    layers = [read_config_file(args.config) if args.config else {}, flags]
    saved = Path(flags.get("out", TrainConfig.out)) / CONFIG_FILE
    if args.resume and saved.exists():
        # Resuming: the saved config is the base; only what is given now changes it (e.g. --steps).
        layers.insert(0, dataclasses.asdict(load_config(TrainConfig, saved)))
    if args.recipe == "few-step":
        from flowmatch.reflow import RecipeConfig, few_step_recipe

        defaults = {"steps": RecipeConfig.base_steps}  # the recipe's measured defaults; flags override
        config = build_config(TrainConfig, defaults, *layers)
        stage = {k: getattr(args, k) for k in recipe_keys if getattr(args, k) is not None}
        print(json.dumps(few_step_recipe(config, RecipeConfig(base_steps=config.steps, **stage))))
        return 0
    result = train(build_config(TrainConfig, *layers), resume=args.resume)
    print(json.dumps({"run": str(result.run_dir), "step": result.step, "loss": round(result.loss, 6), "seconds": round(result.seconds, 2)}))
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from flowmatch.plotting import plot_points, plot_trajectories
    from flowmatch.sampling import sample_run
    from flowmatch.training import load_run

    out = Path(args.out)
    if out.suffix not in (".npy", ".png"):
        raise FlowmatchError(f"--out must end in .npy or .png, got {out.name!r}")
    if args.n < 1:
        raise FlowmatchError(f"--n must be >= 1, got {args.n}")
    run = load_run(args.run, device=args.device)
    solver = args.solver or run.config.sampler
    start = time.perf_counter()
    res = sample_run(run, args.n, solver=solver, steps=args.steps, seed=args.seed, grid=args.grid, trajectory=args.trajectory is not None, atol=args.atol, rtol=args.rtol)
    seconds = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, res.x.cpu().numpy())
    else:
        plot_points(res.x, out, title=f"{solver}, NFE {res.nfe}")
    if args.trajectory:
        plot_trajectories(res.trajectory, args.trajectory)
    steps = args.steps if solver not in ("dopri5", "dopri8", "bosh3", "adaptive_heun") else None
    print(json.dumps({"out": str(out), "n": args.n, "solver": solver, "steps": steps, "nfe": res.nfe, "seconds": round(seconds, 3)}))
    return 0


def _cmd_reflow(args: argparse.Namespace) -> int:
    from flowmatch.reflow import reflow, reflow_record

    res = reflow(args.run, args.out, pairs=args.pairs, steps=args.steps, lr=args.lr, solver_steps=args.solver_steps,
                 distill_fraction=1.0 if args.distill else 0.0, device=args.device)
    print(json.dumps(reflow_record(res)))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from flowmatch.plotting import plot_run

    files = plot_run(args.run, args.out, n=args.n, device=args.device)
    print(json.dumps({"out": str(args.out), "files": [str(f) for f in files]}))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from flowmatch.demo import run_demo

    print(json.dumps(run_demo(args.out, steps=args.steps)))
    return 0


COMMANDS = {"train": _cmd_train, "sample": _cmd_sample, "reflow": _cmd_reflow, "plot": _cmd_plot, "demo": _cmd_demo}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except FlowmatchError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted (the last checkpoint is kept; --resume continues)\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
