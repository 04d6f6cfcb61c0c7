"""The `flowmatch` command line: parses arguments and calls the library, nothing more.

Every user mistake ends with exit code 2 and one line `error: ...` on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
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

    p.add_argument("--data", default=S, help="built-in 2D set (moons, circles, 8gaussians, checkerboard, spirals, swissroll, pinwheel), a .npy/.npz/.csv file of shape (N, D), an image set (mnist, fashion-mnist, cifar10, digits) or an image folder")
    p.add_argument("--out", default=S, help="run directory (checkpoint, config.json, log.jsonl)")
    p.add_argument("--config", default=None, help="a .toml or .yaml file of options; flags override it")
    p.add_argument("--source", default=S, help="'gaussian' (default) or a data set as for --data (two-sided flow)")
    p.add_argument("--path", default=S, choices=list(SCHEDULES), help="probability path (default condot)")
    p.add_argument("--sigma-min", type=float, default=S, help="condot path: sigma at t=1 (default 0)")
    p.add_argument("--coupling", default=S, choices=list(COUPLINGS), help="pairing of source and data in a batch")
    p.add_argument("--sinkhorn-reg", type=float, default=S, help="entropic regularisation for --coupling sinkhorn")
    p.add_argument("--ot-block", type=int, default=S, help="--coupling ot: exact OT within blocks of this many rows of each batch (0: the whole batch)")
    p.add_argument("--time-sampling", default=S, choices=list(TIME_SAMPLING), help="distribution of training times (default logit-normal: measured better at NFE 1-8, docs/benchmarks.md)")
    p.add_argument("--model", default=S, help="velocity network (default mlp)")
    p.add_argument("--hidden", type=int, default=S, help="MLP width (default 128)")
    p.add_argument("--depth", type=int, default=S, help="MLP hidden layers (default 3)")
    p.add_argument("--steps", type=int, default=S, help="training steps (default 5000)")
    p.add_argument("--batch-size", type=int, default=S, help="batch size (default 256)")
    p.add_argument("--lr", type=float, default=S, help="AdamW learning rate (default: 3e-3 for an MLP with --coupling ot, else 1e-3)")
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
    p.add_argument("--prefetch", type=int, default=S, help="--coupling ot: batches whose OT is solved ahead in worker threads (0: synchronous; default 2)")
    p.add_argument("--recipe", default=None, choices=["few-step"], help="few-step: train, reflow, distil; RUN ends as the one-step model")
    p.add_argument("--budget-seconds", type=float, default=0.0, help="--recipe: cap on the whole chain's wall time (0: none)")
    p.add_argument("--reflow-steps", type=int, default=None, help="--recipe: steps of each reflow round (default 2000)")
    p.add_argument("--reflow-rounds", type=int, default=None, help="--recipe: reflow rounds before distillation (default 0: the OT base is straight enough)")
    p.add_argument("--reflow-pairs", type=int, default=None, help="--recipe: couplings per round (default 32768)")
    p.add_argument("--distill-steps", type=int, default=None, help="--recipe: one-step distillation steps (default 4000)")
    # images (issue 3)
    g = p.add_argument_group("images", "image data sets (mnist, fashion-mnist, cifar10, digits, or a folder of class sub-folders) and image models")
    g.add_argument("--data-dir", default=S, help="folder with the image set's original files (default ./data)")
    g.add_argument("--image-size", type=int, default=S, help="resize and centre-crop images to this size (default: the set's own; 32 for folders)")
    g.add_argument("--download", action="store_true", default=S, help="fetch mnist/fashion-mnist/cifar10 into --data-dir (checksums verified)")
    g.add_argument("--hflip", action="store_true", default=S, help="random horizontal flips")
    g.add_argument("--channels", type=int, default=S, help="unet base / simple-cnn width (default 32)")
    g.add_argument("--channel-mults", default=S, help="unet channel multiplier per resolution, e.g. 1,2,2 (default)")
    g.add_argument("--num-res-blocks", type=int, default=S, help="unet residual blocks per resolution (default 1)")
    g.add_argument("--attn-resolutions", default=S, help="feature-map sizes with self-attention, e.g. 7,14; 'auto' (coarsest, default) or 'none'")
    g.add_argument("--patch-size", type=int, default=S, help="unet space-to-depth patch (2: a quarter of the compute; default 1)")
    g.add_argument("--dropout", type=float, default=S, help="unet dropout (default 0)")
    g.add_argument("--cond-drop", type=float, default=S, help="label dropout to the null class for classifier-free guidance (default 0.1)")
    g.add_argument("--precision", default=S, choices=["fp32", "bf16"], help="bf16: autocast the forward pass (default fp32)")
    g.add_argument("--channels-last", action="store_true", default=S, help="NHWC memory format")
    g.add_argument("--compile", action="store_true", default=S, help="torch.compile the model")
    g.add_argument("--sample-every", type=int, default=S, help="write a sample grid to RUN/samples/ every K steps (0: off)")


def _sample_args(p: argparse.ArgumentParser) -> None:
    from flowmatch.solvers import GRIDS, SOLVERS

    p.add_argument("run", help="run directory written by 'flowmatch train'")
    p.add_argument("--n", type=int, default=2000, help="number of samples")
    p.add_argument("--out", required=True, help="FILE.npy (array (N, D), or (N, C, H, W) in [-1, 1] for images) or FILE.png (scatter plot, or image grid)")
    p.add_argument("--solver", default=None, choices=list(SOLVERS), help="default: the run's own (midpoint; euler for a distilled run)")
    p.add_argument("--steps", type=int, default=4, help="solver steps (fixed-step solvers)")
    p.add_argument("--grid", default="uniform", choices=list(GRIDS), help="time grid of fixed-step solvers")
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trajectory", default=None, help="also draw the trajectories to this PNG")
    p.add_argument("--device", default="auto")
    p.add_argument("--density-guidance", type=float, default=0.0, metavar="LAMBDA", help="mode-seeking guidance: follow v + LAMBDA grad(-div v) (default 0: off)")

    p.add_argument("--class", dest="class_", default=None, help="class id, or 'all' (one row per class); default: unconditional")
    p.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance weight W: v_null + W (v_class - v_null) (default 1)")


def _eval_args(p: argparse.ArgumentParser) -> None:
    from flowmatch.evaluation import METRICS
    from flowmatch.solvers import SOLVERS

    p.add_argument("run", help="run directory written by 'flowmatch train'")
    p.add_argument("--ref", default=None, help="reference DATA (built-in name or file); default: fresh draws from the run's data set (image runs: its test split)")
    p.add_argument("--metrics", default="w2,sliced_w2,mmd,energy", help=f"comma-separated, from {','.join(METRICS)}")
    p.add_argument("--n", type=int, default=1000, help="samples (and reference points) per metric")
    p.add_argument("--solver", default="midpoint", choices=list(SOLVERS), help="sampler for the metrics")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--probes", type=int, default=None, help="nll: Hutchinson probes instead of the exact trace")
    p.add_argument("--classifier", default=None, metavar="FILE.pt", help="image classifier (flowmatch.metrics_images, e.g. runs/mnist-classifier.pt) whose features give metric 'fd'")
    p.add_argument("--sweep-nfe", default=None, metavar="LIST", help="NFE budgets, e.g. 1,2,4,8,16,32: run an NFE sweep instead")
    p.add_argument("--solvers", default="euler,midpoint,heun,rk4", help="fixed-step solvers of the sweep")
    p.add_argument("--adaptive", default="dopri5", help="adaptive solver for the sweep's extra point ('none' to skip)")
    p.add_argument("--out", default=None, help="sweep: directory for sweep.csv, sweep.json, sweep.png")
    p.add_argument("--device", default="auto")


def _likelihood_args(p: argparse.ArgumentParser) -> None:
    from flowmatch.likelihood import PROBE_KINDS
    from flowmatch.solvers import SOLVERS

    p.add_argument("run", help="run directory written by 'flowmatch train'")
    p.add_argument("--data", default=None, help="DATA to score (built-in name or file); default: the run's data set")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--exact", action="store_true", help="exact divergence (default up to 32 dimensions)")
    g.add_argument("--probes", type=int, default=None, help="Hutchinson estimate with K probes (default above 32 dimensions: 1)")
    p.add_argument("--probe-kind", default="rademacher", choices=list(PROBE_KINDS))
    p.add_argument("--solver", default="dopri5", choices=list(SOLVERS))
    p.add_argument("--steps", type=int, default=32, help="steps of a fixed-step solver")
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--n", type=int, default=1000, help="number of points to score")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-sample", default=None, metavar="FILE.npy", help="also save the per-sample log-likelihoods (nats)")
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
    p.add_argument("--density", action="store_true", help="also draw density.png: the model's log-density on a grid beside a data histogram")
    _eval_args(sub.add_parser("eval", help="metrics of a run against reference data, or an NFE sweep", description="Print sample metrics (W2, sliced W2, MMD, energy distance) and NLL as JSON, or with --sweep-nfe write a table and plot of a metric against NFE per solver."))
    _likelihood_args(sub.add_parser("likelihood", help="log-likelihood of data under a run", description="Exact log-likelihoods by the instantaneous change of variables; prints nll, nll_se (and bpd for images) as JSON."))
    p = sub.add_parser("demo", help="train on moons and write the pictures (the README's main job)", description="Train a small flow on moons from a Gaussian, then write samples, trajectories, vector field and loss pictures.")
    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    p.add_argument("--steps", type=int, default=5000)
    return parser


def _cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from flowmatch.config import build_config, load_config, read_config_file
    from flowmatch.distributed import is_main_process
    from flowmatch.training import CONFIG_FILE, TrainConfig, train

    recipe_keys = ("budget_seconds", "reflow_steps", "reflow_rounds", "reflow_pairs", "distill_steps")
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config", "resume", "recipe", *recipe_keys)}
    layers = [read_config_file(args.config) if args.config else {}, flags]
    saved = Path(flags.get("out", TrainConfig.out)) / CONFIG_FILE
    if args.resume and saved.exists():
        # Resuming: the saved config is the base; only what is given now changes it (e.g. --steps).
        layers.insert(0, dataclasses.asdict(load_config(TrainConfig, saved)))
    if args.recipe == "few-step":
        from flowmatch.reflow import RECIPE_LR, RecipeConfig, few_step_recipe

        defaults = {"steps": RecipeConfig.base_steps, "lr": RECIPE_LR}  # the recipe's measured defaults; flags override
        config = build_config(TrainConfig, defaults, *layers)
        stage = {k: getattr(args, k) for k in recipe_keys if getattr(args, k) is not None}
        print(json.dumps(few_step_recipe(config, RecipeConfig(base_steps=config.steps, **stage))))
        return 0
    result = train(build_config(TrainConfig, *layers), resume=args.resume)
    if not is_main_process():  # under torchrun only rank 0 reports
        return 0
    loss = None if result.loss != result.loss else round(result.loss, 6)  # NaN: no step was run now
    print(json.dumps({"run": str(result.run_dir), "step": result.step, "loss": loss, "seconds": round(result.seconds, 2)}))
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from flowmatch.plotting import plot_points, plot_trajectories
    from flowmatch.sampling import class_labels, sample_run
    from flowmatch.training import load_run

    out = Path(args.out)
    if out.suffix not in (".npy", ".png"):
        raise FlowmatchError(f"--out must end in .npy or .png, got {out.name!r}")
    if args.n < 1:
        raise FlowmatchError(f"--n must be >= 1, got {args.n}")
    run = load_run(args.run, device=args.device)
    images = len(run.data.shape) == 3
    if not images and (args.class_ is not None or args.guidance != 1.0):
        raise FlowmatchError("--class and --guidance apply to class-conditional image runs")
    if images and args.trajectory:
        raise FlowmatchError("--trajectory draws 2D runs only; save image samples with --out FILE.png or FILE.npy")
    labels = class_labels(args.class_, args.n, run.data.num_classes) if images else None
    n = len(labels) if labels is not None else args.n
    solver = args.solver or run.config.sampler
    start = time.perf_counter()
    res = sample_run(run, n, solver=solver, steps=args.steps, seed=args.seed, grid=args.grid, trajectory=args.trajectory is not None, atol=args.atol, rtol=args.rtol, y=labels, guidance=args.guidance, density_guidance=args.density_guidance)
    seconds = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, res.x.clamp(-1, 1).cpu().numpy() if images else res.x.cpu().numpy())
    elif images:  # a PNG grid; --class all: one row per class
        from flowmatch.imagegrid import save_image_grid

        ncol = n // run.data.num_classes if str(args.class_).lower() == "all" else math.ceil(math.sqrt(n))
        save_image_grid(res.x, out, ncol=ncol)
    else:
        plot_points(res.x, out, title=f"{solver}, NFE {res.nfe}")
    if args.trajectory:
        plot_trajectories(res.trajectory, args.trajectory)
    steps = args.steps if solver not in ("dopri5", "dopri8", "bosh3", "adaptive_heun") else None
    record = {"out": str(out), "n": n, "solver": solver, "steps": steps, "nfe": res.nfe, "seconds": round(seconds, 3)}
    if images:  # images (issue 3): nfe counts solver calls; a guided call is one batched pass
        record.update({"class": args.class_, "guidance": args.guidance})
    if args.density_guidance:
        record["density_guidance"] = args.density_guidance
    print(json.dumps(record))
    return 0


def _cmd_reflow(args: argparse.Namespace) -> int:
    from flowmatch.reflow import reflow, reflow_record

    res = reflow(args.run, args.out, pairs=args.pairs, steps=args.steps, lr=args.lr, solver_steps=args.solver_steps,
                 distill_fraction=1.0 if args.distill else 0.0, device=args.device)
    print(json.dumps(reflow_record(res)))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from flowmatch.plotting import plot_run

    files = plot_run(args.run, args.out, n=args.n, device=args.device, density=args.density)
    print(json.dumps({"out": str(args.out), "files": [str(f) for f in files]}))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from flowmatch.evaluation import evaluate_run, nfe_sweep, parse_ints, reference_samples, write_sweep
    from flowmatch.training import load_run

    if args.n < 2:
        raise FlowmatchError(f"--n must be >= 2, got {args.n}")
    metrics = args.metrics.split(",")
    feature_fn = None
    if "fd" in metrics:
        if args.classifier is None:
            raise FlowmatchError("metric 'fd' needs --classifier FILE.pt (e.g. the cached MNIST classifier)")
        from flowmatch.metrics_images import classifier_features, load_classifier

        classifier = load_classifier(args.classifier)
        feature_fn = lambda x: classifier_features(x, classifier)  # noqa: E731
    run = load_run(args.run, device=args.device)
    ref = reference_samples(run, args.ref, args.n, seed=args.seed + 1)
    if args.sweep_nfe is None:
        print(json.dumps(evaluate_run(run, ref, metrics, n=args.n, solver=args.solver, steps=args.steps, seed=args.seed, nll_probes=args.probes, feature_fn=feature_fn)))
        return 0
    nfes = parse_ints(args.sweep_nfe)
    if args.out is None:
        raise FlowmatchError("--sweep-nfe needs --out DIR for the table and plot")
    if "nll" in metrics:
        metrics = [m for m in metrics if m != "nll"]  # NLL does not depend on the sampler
    adaptive = None if args.adaptive == "none" else args.adaptive
    rows = nfe_sweep(run, ref, nfes, args.solvers.split(","), metrics, n=args.n, seed=args.seed, adaptive=adaptive, feature_fn=feature_fn)
    files = write_sweep(rows, args.out, title=f"{run.config.data}: n={args.n}")
    print(json.dumps({"out": str(args.out), "files": [str(f) for f in files], "rows": [{"solver": r.solver, "nfe": r.nfe, **r.values} for r in rows]}))
    return 0


def _cmd_likelihood(args: argparse.Namespace) -> int:
    import numpy as np

    from flowmatch.evaluation import reference_samples
    from flowmatch.likelihood import run_log_likelihood
    from flowmatch.training import load_run

    if args.n < 2:
        raise FlowmatchError(f"--n must be >= 2, got {args.n}")
    if args.probes is not None and args.probes < 1:
        raise FlowmatchError(f"--probes must be >= 1, got {args.probes}")
    if args.per_sample is not None and not args.per_sample.endswith(".npy"):
        raise FlowmatchError(f"--per-sample must end in .npy, got {args.per_sample!r}")
    run = load_run(args.run, device=args.device)
    x = reference_samples(run, args.data, args.n, seed=args.seed + 1)
    exact = True if args.exact else (False if args.probes is not None else None)
    start = time.perf_counter()
    res = run_log_likelihood(run, x, exact=exact, probes=args.probes or 1, probe_kind=args.probe_kind, method=args.solver, steps=args.steps, atol=args.atol, rtol=args.rtol, batch_size=args.batch_size, seed=args.seed)
    seconds = time.perf_counter() - start
    record = {"nll": res.nll, "nll_se": res.nll_se, "n": len(res.log_likelihood), "solver": args.solver, "nfe": res.nfe, "seconds": round(seconds, 3)}
    if res.bpd is not None:
        record["bpd"] = res.bpd
    if args.per_sample:
        Path(args.per_sample).parent.mkdir(parents=True, exist_ok=True)
        np.save(args.per_sample, res.log_likelihood.cpu().numpy())
        record["per_sample"] = args.per_sample
    print(json.dumps(record))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from flowmatch.demo import run_demo

    print(json.dumps(run_demo(args.out, steps=args.steps)))
    return 0


COMMANDS = {"train": _cmd_train, "sample": _cmd_sample, "reflow": _cmd_reflow, "plot": _cmd_plot, "eval": _cmd_eval, "likelihood": _cmd_likelihood, "demo": _cmd_demo}


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
