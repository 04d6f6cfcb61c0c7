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
    rows = []
    for solver in solvers:
        per = FIXED_STEP[solver].evals_per_step
        for nfe in nfes:
            if nfe % per:
                continue  # this solver cannot spend exactly nfe evaluations
            res = sample_run(run, n, method=solver, steps=nfe // per, seed=seed)
            rows.append(SweepRow(solver, nfe // per, res.nfe, sample_metrics(res.x.cpu(), ref, metrics, feature_fn, ref_features)))
    if adaptive:
        if adaptive not in ADAPTIVE:
            raise FlowmatchError(f"unknown adaptive solver {adaptive!r}")
        res = sample_run(run, n, method=adaptive, seed=seed, atol=atol, rtol=rtol)
        rows.append(SweepRow(adaptive, None, res.nfe, sample_metrics(res.x.cpu(), ref, metrics, feature_fn, ref_features)))
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


__all__ = ["SweepRow", "nfe_sweep", "sweep_table_markdown", "write_sweep"]
