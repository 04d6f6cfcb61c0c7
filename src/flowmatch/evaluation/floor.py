"""W2 of a run's samples at a few step counts, next to the noise floor of the data.

The noise floor is the W2 between two fresh draws of the data themselves: what a perfect
sampler scores at this sample size. Each figure is the median over `draws` pairs of a fresh
sample set (seeds seed, seed + 1, ...) and a fresh reference draw, as the floor is the median
over pairs of fresh draws: W2 between i.i.d. 2,000-point sets varies by tens of percent from
draw to draw on both sides (see the moons floor in docs/benchmarks.md). Needs data that can be
drawn afresh (a built-in 2D set).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

import torch

from flowmatch.data import TOY_SETS
from flowmatch.errors import FlowmatchError
from flowmatch.metrics import wasserstein2
from flowmatch.runs import Run, recommended_sampler, sample_run
from flowmatch.solvers import ADAPTIVE


@dataclass(frozen=True)
class W2Figures:
    """rows: one dict per step count {solver, steps, nfe, w2, ratio}; floor: the median noise floor."""

    rows: list[dict]
    floor: float
    n: int
    draws: int


def can_measure_w2(run: Run) -> bool:
    return run.config.data in TOY_SETS and tuple(run.data.shape) == (2,)


def w2_figures(run: Run, steps: Sequence[int], *, method: str | None = None, n: int = 2000, draws: int = 5, seed: int = 0) -> W2Figures:
    """Median over `draws` pairs (n samples from seed + i, a fresh data draw i) of W2 at each step
    count, and the median W2 between `draws` pairs of fresh data draws (the floor)."""
    if not can_measure_w2(run):
        raise FlowmatchError(f"W2 against fresh data needs a built-in 2D data set; this run's data are {run.config.data!r}")
    method = method or recommended_sampler(run.config, card=run.recommended).method  # its draws are unconditional
    if method in ADAPTIVE:
        raise FlowmatchError(f"W2 figures take a fixed-step solver, got {method!r}")
    g = torch.Generator().manual_seed(seed + 10_000)
    refs = [run.data.sample(n, g).x for _ in range(draws)]
    others = [run.data.sample(n, g).x for _ in range(draws)]
    floor = statistics.median(wasserstein2(a, b) for a, b in zip(refs, others))
    rows = []
    for k in steps:
        # draw i: samples from seed + i against fresh reference draw i, as the floor pairs two fresh draws
        results = [sample_run(run, n, method=method, steps=k, seed=seed + i) for i in range(draws)]
        w2 = statistics.median(wasserstein2(res.x.cpu(), r) for res, r in zip(results, refs))
        rows.append({"solver": method, "steps": k, "nfe": results[0].nfe, "w2": round(w2, 4), "ratio": round(w2 / floor, 2)})
    return W2Figures(rows, round(floor, 4), n, draws)


__all__ = ["W2Figures", "can_measure_w2", "w2_figures"]
