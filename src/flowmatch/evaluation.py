"""Evaluating a trained run: sample metrics against reference data, NLL, and NFE sweeps.

`evaluate_run` returns a dict of metric -> value for one sampler; `nfe_sweep` measures a metric
at several NFE budgets for each fixed-step solver (steps = NFE / evaluations per step, budgets
a solver cannot meet exactly are skipped) plus one adaptive point, and `write_sweep` saves the
table as CSV and JSON and a plot of metric against NFE.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.solvers import FIXED_STEP, SOLVERS

SAMPLE_METRICS = ("w2", "sliced_w2", "mmd", "energy")
# "fd": Fréchet distance in the space of a feature extractor passed as `feature_fn` (the hook
# for the MNIST classifier's features); "nll": negative log-likelihood of the reference points.
METRICS = SAMPLE_METRICS + ("fd", "nll")


def metric_functions() -> dict[str, Callable]:
    from flowmatch import metrics as m

    return {"w2": m.wasserstein2, "sliced_w2": m.sliced_wasserstein2, "mmd": m.mmd, "energy": m.energy_distance}


def parse_list(text: str | Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    """'a,b' or ['a', 'b'] -> ['a', 'b'], every item checked against `allowed`."""
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not items:
        raise FlowmatchError(f"no {what} given")
    for item in items:
        if item not in allowed:
            raise FlowmatchError(f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
    return items


def parse_ints(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4] (positive integers)."""
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise FlowmatchError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise FlowmatchError(f"expected positive integers, got {text!r}")
    return values


def reference_samples(run, ref: str | None, n: int, seed: int) -> Tensor:
    """(n, *D) reference points: fresh draws from the run's data set or the DATA spec `ref`
    (a file gives up to n of its own points, in random order, without repeats). An image run
    with ref=None uses up to n distinct images of its data set's test split."""
    from flowmatch.data import load_data

    if ref is None and len(run.data.shape) == 3 and not hasattr(run.data, "all"):  # a loaded image run
        c = run.config
        images, _ = load_data(c.data, data_dir=c.data_dir, image_size=c.image_size, split="test").all()
        if tuple(images.shape[1:]) != tuple(run.data.shape):
            raise FlowmatchError(f"test images have shape {tuple(images.shape[1:])} but the run's data have shape {tuple(run.data.shape)}")
        return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]]
    source = run.data if ref is None else load_data(ref)
    if tuple(source.shape) != tuple(run.data.shape):
        raise FlowmatchError(f"reference data have shape {tuple(source.shape)} but the run's data have shape {tuple(run.data.shape)}")
    g = torch.Generator().manual_seed(seed)
    points = getattr(source, "points", None)
    if points is not None:  # a finite file: distinct points, not draws with replacement
        return points[torch.randperm(len(points), generator=g)[:n]]
    return source.sample(n, g).x


def sample_metrics(samples: Tensor, ref: Tensor, names: Sequence[str], feature_fn: Callable[[Tensor], Tensor] | None = None, ref_features: Tensor | None = None) -> dict[str, float]:
    """Each named sample metric between samples (N, *D) and reference points (M, *D); 'fd'
    compares feature_fn(samples) with ref_features (default feature_fn(ref)), both (·, F)."""
    fns = metric_functions()
    out = {name: float(fns[name](samples, ref)) for name in names if name != "fd"}
    if "fd" in names:
        from flowmatch.metrics import frechet_distance_features

        _need_features(names, feature_fn)
        with torch.no_grad():
            if ref_features is None:
                ref_features = feature_fn(ref.to(samples.device))
            out["fd"] = frechet_distance_features(feature_fn(samples), ref_features)
    return out


def _need_features(metrics: Sequence[str], feature_fn) -> None:
    if "fd" in metrics and feature_fn is None:
        raise FlowmatchError("metric 'fd' needs a feature extractor (feature_fn), e.g. the MNIST classifier's features")


def evaluate_run(
    run,
    ref: Tensor,
    metrics: Sequence[str] = ("w2",),
    *,
    n: int = 1000,
    solver: str = "midpoint",
    steps: int = 16,
    seed: int = 0,
    nll_probes: int | None = None,
    feature_fn: Callable[[Tensor], Tensor] | None = None,
) -> dict:
    """Metrics of a run's samples (n of them, from `solver`/`steps`) against ref: (M, *D).

    'nll' is the mean negative log-likelihood of the reference points under the model (nats),
    with its standard error as 'nll_se'; nll_probes=None uses the exact trace in low dimension.
    'fd' is the Fréchet distance between Gaussians fitted to feature_fn(samples) and
    feature_fn(ref), feature_fn: (N, *D) -> (N, F), e.g. a classifier's penultimate layer.
    """
    from flowmatch.sampling import sample_run

    metrics = parse_list(list(metrics), METRICS, "metric")
    out: dict = {"solver": solver, "steps": steps if solver in FIXED_STEP else None, "n": n}
    _need_features(metrics, feature_fn)
    wanted = [m for m in metrics if m in SAMPLE_METRICS + ("fd",)]
    if wanted:
        res = sample_run(run, n, solver=solver, steps=steps, seed=seed)
        out["nfe"] = res.nfe
        out.update(sample_metrics(res.x.cpu(), ref, wanted, feature_fn))
    if "nll" in metrics:
        from flowmatch.likelihood import run_log_likelihood

        kw = {} if nll_probes is None else {"exact": False, "probes": nll_probes}
        lik = run_log_likelihood(run, ref[:n], seed=seed, **kw)
        out.update({"nll": lik.nll, "nll_se": lik.nll_se, "nll_nfe": lik.nfe})
        if lik.bpd is not None:
            out["bpd"] = lik.bpd
    return out


@dataclass(frozen=True)
class SweepRow:
    """One point of an NFE sweep: solver, steps (None for adaptive), measured NFE, metric values."""

    solver: str
    steps: int | None
    nfe: int
    values: dict


def nfe_sweep(
    run,
    ref: Tensor,
    nfes: Sequence[int] = (1, 2, 4, 8, 16, 32),
    solvers: Sequence[str] = ("euler", "midpoint", "heun", "rk4"),
    metrics: Sequence[str] = ("w2",),
    *,
    n: int = 1000,
    seed: int = 0,
    adaptive: str | None = "dopri5",
    atol: float = 1e-5,
    rtol: float = 1e-5,
    feature_fn: Callable[[Tensor], Tensor] | None = None,
) -> list[SweepRow]:
    """Metric(s) against ref at each NFE budget for each fixed-step solver, plus the adaptive point.

    The same source draws (seed) feed every solver, so differences are the solvers' alone.
    'fd' needs feature_fn: (N, *D) -> (N, F), as in `evaluate_run`; ref's features are computed once.
    Image runs are sampled unconditionally (the null class, no guidance).
    """
    from flowmatch.sampling import sample_run

    solvers = parse_list(list(solvers), tuple(FIXED_STEP), "fixed-step solver")
    metrics = parse_list(list(metrics), SAMPLE_METRICS + ("fd",), "sweep metric")
    _need_features(metrics, feature_fn)
    ref_features = None
    if "fd" in metrics:
        with torch.no_grad():
            ref_features = feature_fn(ref)
    rows = []
    for solver in solvers:
        per = FIXED_STEP[solver].evals_per_step
        for nfe in nfes:
            if nfe % per:
                continue  # this solver cannot spend exactly nfe evaluations
            res = sample_run(run, n, solver=solver, steps=nfe // per, seed=seed)
            rows.append(SweepRow(solver, nfe // per, res.nfe, sample_metrics(res.x.cpu(), ref, metrics, feature_fn, ref_features)))
    if adaptive:
        if adaptive not in SOLVERS or adaptive in FIXED_STEP:
            raise FlowmatchError(f"unknown adaptive solver {adaptive!r}")
        res = sample_run(run, n, solver=adaptive, seed=seed, atol=atol, rtol=rtol)
        rows.append(SweepRow(adaptive, None, res.nfe, sample_metrics(res.x.cpu(), ref, metrics, feature_fn, ref_features)))
    return rows


def write_sweep(rows: Sequence[SweepRow], out_dir: str | Path, title: str = "") -> list[Path]:
    """sweep.csv, sweep.json and sweep.png (one panel per metric: metric vs NFE, log-log)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(rows[0].values) if rows else []
    with open(out / "sweep.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["solver", "steps", "nfe", *names])
        for r in rows:
            w.writerow([r.solver, "" if r.steps is None else r.steps, r.nfe, *(f"{r.values[k]:.6g}" for k in names)])
    (out / "sweep.json").write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return [out / "sweep.csv", out / "sweep.json", plot_sweep(rows, out / "sweep.png", title=title)]


def plot_sweep(rows: Sequence[SweepRow], out: str | Path, title: str = "") -> Path:
    from flowmatch.plotting import _plt, _save

    plt = _plt()
    names = list(rows[0].values)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        for i, solver in enumerate(dict.fromkeys(r.solver for r in rows if r.steps is not None)):
            pts = [(r.nfe, r.values[name]) for r in rows if r.solver == solver]
            ax.plot(*zip(*pts), marker="o", label=solver, color=f"C{i}")
        for r in rows:
            if r.steps is None:
                ax.scatter([r.nfe], [r.values[name]], marker="*", s=140, color="black", zorder=5, label=f"{r.solver} (adaptive)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("NFE")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, out)


def sweep_table_markdown(rows: Sequence[SweepRow], metric: str = "w2") -> str:
    """A markdown table: one row per solver, one column per NFE, plus the adaptive point."""
    nfes = sorted({r.nfe for r in rows if r.steps is not None})
    lines = ["| solver | " + " | ".join(f"NFE {k}" for k in nfes) + " |", "|---" * (len(nfes) + 1) + "|"]
    for solver in dict.fromkeys(r.solver for r in rows if r.steps is not None):
        vals = {r.nfe: r.values[metric] for r in rows if r.solver == solver}
        lines.append(f"| {solver} | " + " | ".join(f"{vals[k]:.4f}" if k in vals else "–" for k in nfes) + " |")
    for r in rows:
        if r.steps is None:
            lines.append(f"| {r.solver} (adaptive) | NFE {r.nfe}: {r.values[metric]:.4f} |" + " |" * (len(nfes) - 1))
    return "\n".join(lines)


__all__ = ["METRICS", "SAMPLE_METRICS", "SweepRow", "evaluate_run", "nfe_sweep", "write_sweep", "plot_sweep", "sweep_table_markdown", "reference_samples"]
