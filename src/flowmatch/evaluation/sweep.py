"""NFE sweeps: a metric at several NFE budgets for each fixed-step solver, plus one adaptive point.

Steps = NFE / evaluations per step; budgets a solver cannot meet exactly are skipped.
`write_sweep` saves the table as CSV and JSON and a plot of metric against NFE.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.evaluation.metrics import SAMPLE_METRICS, need_features, parse_list, sample_metrics
from flowmatch.fileio import atomic_write_text
from flowmatch.runs import Run, sample_run
from flowmatch.solvers import ADAPTIVE, FIXED_STEP
from flowmatch.training.progress import progress_bar
from flowmatch.viz.sweep import plot_sweep


@dataclass(frozen=True)
class SweepRow:
    """One point of an NFE sweep: solver, steps (None for adaptive), measured NFE, metric values."""

    solver: str
    steps: int | None
    nfe: int
    values: dict


def nfe_sweep(
    run: Run,
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
    progress: bool = False,
) -> list[SweepRow]:
    """Metric(s) against ref at each NFE budget for each fixed-step solver, plus the adaptive point.

    The same source draws (seed) feed every solver, so differences are the solvers' alone.
    'fd' needs feature_fn: (N, *D) -> (N, F), as in `evaluate_run`; ref's features are computed once.
    Image runs are sampled unconditionally (the null class, no guidance).
    """
    solvers = parse_list(list(solvers), tuple(FIXED_STEP), "fixed-step solver")
    metrics = parse_list(list(metrics), SAMPLE_METRICS + ("fd",), "sweep metric")
    need_features(metrics, feature_fn)
    ref_features = None
    if "fd" in metrics:
        with torch.no_grad():
            ref_features = feature_fn(ref)
    if adaptive and adaptive not in ADAPTIVE:
        raise FlowmatchError(f"unknown adaptive solver {adaptive!r}")
    # every (solver, steps) that spends exactly one of the NFE budgets, then the adaptive point
    points = [(s, nfe // FIXED_STEP[s].evals_per_step) for s in solvers for nfe in nfes if nfe % FIXED_STEP[s].evals_per_step == 0]
    points += [(adaptive, None)] if adaptive else []
    rows = []
    with progress_bar(len(points), "sweep", enabled=progress, unit="point") as bar:
        for solver, steps in points:
            res = sample_run(run, n, method=solver, steps=steps, seed=seed, atol=atol, rtol=rtol)
            rows.append(SweepRow(solver, steps, res.nfe, sample_metrics(res.x.cpu(), ref, metrics, feature_fn, ref_features)))
            bar.update(1)
    return rows


def write_sweep(rows: Sequence[SweepRow], out_dir: str | Path, title: str = "") -> list[Path]:
    """sweep.csv, sweep.json and sweep.png (one panel per metric: metric vs NFE, log-log)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(rows[0].values) if rows else []
    table = io.StringIO()
    w = csv.writer(table, lineterminator="\n")
    w.writerow(["solver", "steps", "nfe", *names])
    for r in rows:
        w.writerow([r.solver, "" if r.steps is None else r.steps, r.nfe, *(f"{r.values[k]:.6g}" for k in names)])
    atomic_write_text(out / "sweep.csv", table.getvalue())
    atomic_write_text(out / "sweep.json", json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return [out / "sweep.csv", out / "sweep.json", plot_sweep(rows, out / "sweep.png", title=title)]


__all__ = ["SweepRow", "nfe_sweep", "write_sweep"]
