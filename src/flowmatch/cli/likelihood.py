"""`flowmatch likelihood`: log-likelihoods of data under a run (nats; bits per dimension for images)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

NAME = "likelihood"
HELP = "log-likelihood of data under a run"
DESCRIPTION = (
    "Exact log-likelihoods by the instantaneous change of variables; prints nll, nll_se (and bpd for images) as JSON. "
    "A discrete run (mask source) prints its likelihood bound: nll in nats per token and bpc, bits per character."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import MAX_SAMPLES, add_progress_flag, number
    from flowmatch.likelihood import PROBE_KINDS
    from flowmatch.solvers import MANIFOLD_SOLVERS, SOLVERS

    p.add_argument("run", metavar="MODEL", help="a run directory, an exported folder (flowmatch export), pretrained:NAME (flowmatch pretrained) or hf:OWNER/NAME")
    p.add_argument("--data", default=None, help="DATA to score (built-in name or file); default: the run's data set")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--exact", action="store_true", help="exact divergence (default up to 32 dimensions)")
    g.add_argument("--probes", type=number(int, min=1), default=None, help="Hutchinson estimate with K probes (default above 32 dimensions: 1)")
    p.add_argument("--probe-kind", default="rademacher", choices=list(PROBE_KINDS))
    p.add_argument("--solver", default=None, choices=list(dict.fromkeys((*SOLVERS, *MANIFOLD_SOLVERS))), help="default: dopri5; on a manifold, midpoint (exp-*: along geodesics)")
    p.add_argument("--steps", type=number(int, min=1), default=None, help="steps of a fixed-step solver (default 32; on a manifold 100)")
    p.add_argument("--atol", type=number(float, min=0, min_open=True), default=1e-5)
    p.add_argument("--rtol", type=number(float, min=0, min_open=True), default=1e-5)
    p.add_argument("--n", type=number(int, min=2, max=MAX_SAMPLES), default=None, help="number of points to score (default 1000; text: every window of the file)")
    p.add_argument("--bound-samples", type=number(int, min=1), default=1, help="discrete runs: draws of the bound's estimate per sequence")
    p.add_argument("--batch-size", type=number(int, min=1), default=1024)
    p.add_argument("--seed", type=number(int, min=0), default=0)
    p.add_argument("--per-sample", default=None, metavar="FILE.npy", help="also save the per-sample log-likelihoods (nats)")
    p.add_argument("--device", default="auto")
    p.add_argument("--checkpoint", default="last", choices=("last", "best"), help="a run directory's last checkpoint, or its best by validation (best.pt, kept by --val-data)")
    add_progress_flag(p)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from flowmatch.cli.common import note_fewer
    from flowmatch.evaluation import reference_samples
    from flowmatch.fileio import atomic_write
    from flowmatch.hub import load_model
    from flowmatch.runs import run_log_likelihood
    from flowmatch.runs.likelihood import likelihood_solver
    from flowmatch.runs.outputs import check_output

    if args.per_sample is not None:
        check_output(args.per_sample, "--per-sample", suffixes=(".npy",), inputs=(args.data,))
    run = load_model(args.run, device=args.device, checkpoint=args.checkpoint)
    if run.discrete:
        return _bound(run, args)
    n = args.n or 1000
    x = reference_samples(run, args.data, n, seed=args.seed + 1)
    note_fewer(len(x), n, args.data or run.config.data)
    exact = True if args.exact else (False if args.probes is not None else None)
    method, steps = likelihood_solver(run, args.solver, args.steps)
    start = time.perf_counter()
    res = run_log_likelihood(
        run,
        x,
        exact=exact,
        probes=args.probes or 1,
        probe_kind=args.probe_kind,
        method=method,
        steps=steps,
        atol=args.atol,
        rtol=args.rtol,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=args.progress,
    )
    seconds = time.perf_counter() - start
    record = {"nll": res.nll, "nll_se": res.nll_se, "n": len(res.log_likelihood), "solver": method, "nfe": res.nfe, "seconds": round(seconds, 3)}
    if res.bpd is not None:
        record["bpd"] = res.bpd
    if args.per_sample:
        out = Path(args.per_sample)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda fh: np.save(fh, res.log_likelihood.cpu().numpy()))
        record["per_sample"] = args.per_sample
    print(json.dumps(record))
    return 0


def _bound(run, args: argparse.Namespace) -> int:
    """The likelihood bound of a discrete run on --data (default: its own data)."""
    from flowmatch.errors import FlowmatchError
    from flowmatch.runs import run_bound

    if args.per_sample or args.exact or args.probes is not None:
        raise FlowmatchError("--per-sample, --exact and --probes apply to flows on continuous data; a discrete run reports its bound")
    start = time.perf_counter()
    res = run_bound(run, args.data or run.config.data, n=args.n or 0, samples=args.bound_samples, batch_size=min(args.batch_size, 256), seed=args.seed)
    record = {
        "nll": round(res.nll, 5),
        "nll_se": round(res.stderr, 5),
        "bpc": round(res.bpc, 5),
        "unit": "nats per token (bpc: bits per token, per character for text)",
        "sequences": res.rows,
        "tokens": res.tokens,
        "seconds": round(time.perf_counter() - start, 3),
    }
    print(json.dumps(record))
    return 0
