"""`flowmatch eval`: metrics of a run against reference data, or an NFE sweep."""

from __future__ import annotations

import argparse
import json

NAME = "eval"
HELP = "metrics of a run against reference data, or an NFE sweep"
DESCRIPTION = "Print sample metrics (W2, sliced W2, MMD, energy distance) and NLL as JSON, or with --sweep-nfe write a table and plot of a metric against NFE per solver."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import MAX_SAMPLES, add_progress_flag, number
    from flowmatch.evaluation import METRICS
    from flowmatch.runs.recommend import MAX_STEPS
    from flowmatch.solvers import MANIFOLD_SOLVERS, SOLVERS

    p.add_argument("run", metavar="MODEL", help="a run directory, an exported folder (flowmatch export), pretrained:NAME (flowmatch pretrained) or hf:OWNER/NAME")
    p.add_argument("--ref", default=None, help="reference DATA (built-in name or file); default: fresh draws from the run's data set (image runs: its test split)")
    p.add_argument("--data-dir", default=None, help="image runs: folder with the data set's original files for the default reference (default: the run's own --data-dir)")
    p.add_argument("--download", action="store_true", help="image runs: fetch the data set into --data-dir first (checksums verified; needs a network)")
    p.add_argument("--metrics", default=None, help=f"comma-separated, from {','.join(METRICS)} (default w2,sliced_w2,mmd,energy; on a manifold w2,mmd: geodesic W2 and an MMD with a geodesic kernel)")
    p.add_argument("--n", type=number(int, min=2, max=MAX_SAMPLES), default=1000, help="samples (and reference points) per metric")
    p.add_argument(
        "--solver", default=None, choices=list(dict.fromkeys((*SOLVERS, *MANIFOLD_SOLVERS))), help="sampler for the metrics (default: the run's recommended one, as 'flowmatch sample' uses)"
    )
    p.add_argument("--steps", type=number(int, min=1, max=MAX_STEPS), default=None, help="solver steps (default: the run's recommended count, as 'flowmatch sample' uses)")
    p.add_argument("--seed", type=number(int, min=0), default=0)
    p.add_argument("--probes", type=number(int, min=1), default=None, help="nll: Hutchinson probes instead of the exact trace")
    p.add_argument("--classifier", default=None, metavar="FILE.pt", help="image classifier whose features give metric 'fd' (made by 'flowmatch classifier --data DATA --out FILE.pt')")
    p.add_argument("--sweep-nfe", default=None, metavar="LIST", help="NFE budgets, e.g. 1,2,4,8,16,32: run an NFE sweep instead")
    p.add_argument("--solvers", default="euler,midpoint,heun,rk4", help="fixed-step solvers of the sweep")
    p.add_argument("--adaptive", default="dopri5", help="adaptive solver for the sweep's extra point ('none' to skip)")
    p.add_argument("--out", default=None, help="sweep: directory for sweep.csv, sweep.json, sweep.png")
    p.add_argument("--device", default="auto")
    p.add_argument("--checkpoint", default="last", choices=("last", "best"), help="a run directory's last checkpoint, or its best by validation (best.pt, kept by --val-data)")
    add_progress_flag(p)


def run(args: argparse.Namespace) -> int:
    from flowmatch.cli.common import note_fewer
    from flowmatch.errors import FlowmatchError
    from flowmatch.evaluation import METRICS, evaluate_run, nfe_sweep, parse_list, reference_samples, write_sweep
    from flowmatch.evaluation.metrics import default_metrics
    from flowmatch.hub import load_model
    from flowmatch.parsing import parse_int_list

    run = load_model(args.run, device=args.device, checkpoint=args.checkpoint)
    if run.discrete:  # TV to an exact law and the likelihood bound
        from flowmatch.evaluation.discrete import evaluate_discrete

        if args.sweep_nfe is not None:
            raise FlowmatchError("--sweep-nfe sweeps ODE solvers; evaluate a discrete run at one --steps per call")
        print(json.dumps(evaluate_discrete(run, args.ref, n=args.n, steps=args.steps, seed=args.seed)))
        return 0
    metrics = parse_list(default_metrics(run) if args.metrics is None else args.metrics, METRICS, "metric")
    nfes = parse_int_list(args.sweep_nfe, "--sweep-nfe", min_value=1) if args.sweep_nfe is not None else None
    if nfes is not None and args.out is None:
        raise FlowmatchError("--sweep-nfe needs --out DIR for the table and plot")
    if nfes is not None:
        from flowmatch.runs.outputs import check_output_dir

        check_output_dir(args.out, "--out", ("sweep.csv", "sweep.json", "sweep.png"))
    feature_fn = None
    if "fd" in metrics:
        if args.classifier is None:
            raise FlowmatchError("metric 'fd' needs --classifier FILE.pt (make one with 'flowmatch classifier --data DATA --out FILE.pt')")
        from flowmatch.evaluation import load_classifier
        from flowmatch.metrics import classifier_features

        classifier = load_classifier(args.classifier)
        feature_fn = lambda x: classifier_features(x, classifier)  # noqa: E731
    ref = reference_samples(run, args.ref, args.n, seed=args.seed + 1, data_dir=args.data_dir, download=args.download)
    note_fewer(len(ref), args.n, args.ref or run.config.data)
    if nfes is None:
        print(json.dumps(evaluate_run(run, ref, metrics, n=args.n, method=args.solver, steps=args.steps, seed=args.seed, nll_probes=args.probes, feature_fn=feature_fn)))
        return 0
    metrics = [m for m in metrics if m != "nll"]  # NLL does not depend on the sampler
    adaptive = None if args.adaptive == "none" else args.adaptive
    rows = nfe_sweep(run, ref, nfes, args.solvers.split(","), metrics, n=args.n, seed=args.seed, adaptive=adaptive, feature_fn=feature_fn, progress=args.progress)
    files = write_sweep(rows, args.out, title=f"{run.config.data}: n={args.n}")
    print(json.dumps({"out": str(args.out), "files": [str(f) for f in files], "rows": [{"solver": r.solver, "nfe": r.nfe, **r.values} for r in rows]}))
    return 0
