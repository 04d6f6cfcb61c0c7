"""Few-step generation: reflow (rectified flow), one-step distillation, and the few-step recipe.

Reflow trains a new flow on fixed couplings (x0, ODE_1(x0)) produced by a trained flow; its
paths are straighter, so a few Euler steps approach the many-step result. Distillation trains
on the same couplings at t = 0 only, so that one Euler step x0 + v(x0, 0) lands on x1. Flow-map
distillation (objective "flowmap") keeps the teacher's whole solved paths and trains an
average-velocity model u(x_t, t, h) on steps of N-step grids along them (`flowmatch.loss`), so
that N steps follow the teacher's paths for N = 1 to 10 rather than straight lines between the ends.
Straightness (Liu et al., "Flow Straight and Fast", 2023) is

    S(v) = E_{x0} integral_0^1 |v(x_t, t) - (x_1 - x_0)|^2 dt,  x_t on the ODE path from x0,

zero exactly when every path is a straight line travelled at constant speed.

On class-labelled data each pair is made with a label drawn uniformly, or with the null class at
the run's label-dropout rate, so the new model keeps both the conditional and the unconditional
flow and classifier-free guidance still applies to it. A flow-map student of guided paths
(guidance > 0) is instead taught the guided teacher: each labelled path is solved with its own
weight w drawn from [1, guidance], guided only inside a time interval, and the student takes w as
an input (Meng et al., "On Distillation of Guided Diffusion Models", 2023): its one-step guided
samples are then those of the interval-guided teacher, which no one-step sampler could apply.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import atomic_write_text
from flowmatch.guidance import RowGuidedVelocity
from flowmatch.runs import CHECKPOINT, CONFIG_FILE, PAIRS_FILE, Run, load_run, train
from flowmatch.runs.lock import run_lock
from flowmatch.runs.outputs import check_output
from flowmatch.runs.pairs import save_pairs
from flowmatch.runs.signals import RunInterrupted
from flowmatch.solvers import FIXED_STEP, Velocity, solve
from flowmatch.training import FixedPairs, TrainConfig, uses_bf16
from flowmatch.training.progress import progress_bar

# the files and folders that make a directory someone's run (recipes add their stage folders)
RUN_FILES = (CHECKPOINT, CONFIG_FILE, PAIRS_FILE, "log.jsonl", "reflow.json", "recipe.json", "base", "distill")


@torch.no_grad()
def straightness(velocity: Velocity, x0: Tensor, steps: int = 32) -> float:
    """S(v) above for x0: (B, *D), by an RK4 solve with `steps` steps and the trapezoid rule in t."""
    res = solve(velocity, x0, method="rk4", steps=steps, trajectory=True)
    traj, times = res.trajectory, res.times
    chord = traj[-1] - traj[0]
    dev = torch.stack([(velocity(traj[k], torch.full((x0.shape[0],), float(times[k]), dtype=x0.dtype, device=x0.device)) - chord).pow(2).flatten(1).sum(1).mean() for k in range(steps + 1)])
    h = (times[1:] - times[:-1]).to(dev)
    return float((0.5 * h * (dev[1:] + dev[:-1])).sum())


@torch.no_grad()
def make_pairs(velocity: Velocity, x0: Tensor, method: str = "rk4", steps: int = 64, chunk: int = 8192, y: Tensor | None = None, deadline: float | None = None, progress: bool = False) -> Tensor:
    """x1 = ODE_1(x0): (n, *D), solved accurately (rk4 with `steps` steps, or dopri5), in chunks;
    y: (N,) labels passed to the velocity as v(x, t, y=y). n = N, unless time.perf_counter()
    passes `deadline`: then n stops at the chunk in progress (always at least one chunk).
    progress: a progress bar on a terminal."""
    out = []
    with progress_bar(len(x0), "pairs", enabled=progress, unit="pair") as bar:
        for k, c in enumerate(x0.split(chunk)):
            cond = {} if y is None else {"y": y[k * chunk : k * chunk + len(c)]}
            out.append(solve(velocity, c, method=method, steps=steps, atol=1e-5, rtol=1e-5, cond=cond).x)
            bar.update(len(c))
            if deadline is not None and time.perf_counter() > deadline:
                break
    return torch.cat(out)


@torch.no_grad()
def make_paths(
    velocity: Velocity,
    x0: Tensor,
    method: str = "rk4",
    steps: int = 4,
    chunk: int = 256,
    y: Tensor | None = None,
    deadline: float | None = None,
    dtype: torch.dtype = torch.float32,
    guidance: Tensor | None = None,
    progress: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """The teacher's solved paths from x0: (N, *D): states and velocities (K+1, n, *D) in `dtype`
    at the fixed-step grid's times (K+1,) (K = steps), in chunks; y and deadline as in `make_pairs`;
    guidance: (N,) weights passed beside y (to a `RowGuidedVelocity`).
    The velocities let `hermite` read the path at any t; `solve` keeps v(x_k, t_k), each step's first
    stage, so they cost one more evaluation per path (at t = 1)."""
    if method not in FIXED_STEP:
        raise FlowmatchError(f"teacher paths are solved with a fixed-step method ({', '.join(FIXED_STEP)}), got {method!r}")
    states, velocities, times = [], [], None
    bar = progress_bar(len(x0), "paths", enabled=progress, unit="path")
    for k, c in enumerate(x0.split(chunk)):
        rows = slice(k * chunk, k * chunk + len(c))
        cond = {} if y is None else {"y": y[rows]}
        if guidance is not None:
            cond["guidance"] = guidance[rows]
        res = solve(velocity, c, method=method, steps=steps, trajectory=True, velocities=True, cond=cond)
        times = res.times
        traj = res.trajectory.float()
        end = velocity(res.x, torch.full((len(c),), float(times[-1]), dtype=c.dtype, device=c.device), **cond)
        states.append(traj.to(dtype))
        velocities.append(torch.cat([res.velocities.float(), end.float()[None]]).to(dtype))
        bar.update(len(c))
        if deadline is not None and time.perf_counter() > deadline:
            break
    bar.close()
    with torch.autocast(x0.device.type, enabled=False):  # a caller's autocast refuses to cat float16
        return torch.cat(states, 1), torch.cat(velocities, 1), times


# what `flowmatch reflow` trains: a reflow of straight lines, a one-step distillation (every
# row at t = 0), or a flow-map student (this share of its rows one step of 1, the rest of 2 to 10)
DISTILLATIONS = {
    "reflow": {"objective": "fm", "distill_fraction": 0.0},
    "distill": {"objective": "fm", "distill_fraction": 1.0},
    "flow-map": {"objective": "flowmap", "distill_fraction": 0.3},
}


def distillation(kind: str) -> dict:
    """The `reflow` options (objective, distill_fraction) of a reflow, distill or flow-map student."""
    if kind not in DISTILLATIONS:
        raise FlowmatchError(f"unknown distillation {kind!r}; choose one of {', '.join(DISTILLATIONS)}")
    return dict(DISTILLATIONS[kind])


def pair_labels(n: int, num_classes: int, null_fraction: float, generator: torch.Generator) -> Tensor | None:
    """(n,) labels for new pairs: uniform over the classes, the null class with probability
    null_fraction (None for unlabelled data)."""
    if num_classes < 1:
        return None
    y = torch.randint(num_classes, (n,), generator=generator)
    return torch.where(torch.rand(n, generator=generator) < null_fraction, torch.full_like(y, num_classes), y)


@dataclass(frozen=True)
class ReflowResult:
    """The new run, its steps and training seconds, pair-generation seconds, straightness before/after."""

    run_dir: Path
    steps: int
    seconds: float
    pair_seconds: float
    straightness_before: float
    straightness_after: float


def reflow(
    run_dir: str | Path,
    out: str | Path,
    *,
    pairs: int = 20000,
    steps: int = 2000,
    lr: float | None = None,
    method: str = "rk4",
    solver_steps: int = 16,
    distill_fraction: float = 0.0,
    seed: int | None = None,
    max_minutes: float = 0.0,
    progress: bool = False,
    device: str = "auto",
    eval_n: int = 500,
    steps_per_second: float = 0.0,
    objective: str = "fm",
    guidance: float = 0.0,
    guidance_interval: tuple[float, float] = (0.0, 1.0),
    null_fraction: float | None = None,
    path_share: float = 0.5,
) -> ReflowResult:
    """Generate `pairs` couplings (x0, ODE_1(x0)) with run_dir's model, then train `out` on them
    starting from run_dir's weights; distill_fraction=1 makes it a one-step distillation.
    It stays one function because it is one transaction under the new run's lock with one time
    budget that its parts share.
    objective="flowmap" keeps the teacher's paths (`solver_steps` fixed steps of `method`) and
    distils them into an average-velocity model; distill_fraction is then its share of one-step rows.
    max_minutes > 0 caps the whole call: pair generation, straightness and training; with a
    training speed (steps_per_second > 0, e.g. the base run's) the step count is also cut to what
    fits the time left, so the learning-rate schedule runs its whole course.
    guidance > 0 (flowmap, labelled data): each labelled path is solved guided, with a weight drawn
    uniformly from [1, guidance] applied for t in guidance_interval, and the student takes the weight.
    null_fraction: the share of labelled data's pairs made for the null class (None: the base
    run's label dropout); path_share: under max_minutes, the most of it that making pairs may take.
    """
    _check_reflow(pairs, steps, objective, path_share, null_fraction, guidance)
    run_dir, out = Path(run_dir), check_output(out, "--out", directory=True, owner=out)  # before an empty --out became "."
    refuse_existing_run(out, source=run_dir)
    base_run = load_run(run_dir, device=device)
    with run_lock(out):  # the whole call: pairs, training and the record, under the run's lock
        base = base_run.config
        seed = base.seed + 1 if seed is None else seed
        start = time.perf_counter()
        # under a time cap, at most path_share of it makes pairs (images: an ODE solve per pair is costly)
        deadline = start + max_minutes * 60 * path_share if max_minutes > 0 else None
        fixed = teacher_pairs(
            base_run,
            pairs,
            seed=seed,
            paths=objective == "flowmap",
            method=method,
            solver_steps=solver_steps,
            guidance=guidance,
            guidance_interval=guidance_interval,
            null_fraction=base.cond_drop if null_fraction is None else null_fraction,
            deadline=deadline,
            progress=progress,
        )
        save_pairs(fixed, out / PAIRS_FILE)
        pair_seconds = time.perf_counter() - start
        if len(base_run.data.shape) > 1:  # images: each straightness sample costs 2 x 128 network passes
            eval_n = min(eval_n, 16)
        x_eval = base_run.source.sample(eval_n, torch.Generator().manual_seed(seed + 10_000)).x.to(base_run.device)
        t_straight = time.perf_counter()
        before = straightness(base_run.model, x_eval)
        if max_minutes > 0:
            # max_minutes caps the whole call: leave room for the second straightness measurement
            now = time.perf_counter()
            max_minutes = max(max_minutes * 60 - (now - start) - (now - t_straight), 1.0) / 60
            if steps_per_second > 0:
                # a cosine schedule cut short by the clock ends at a high rate: size the run to the time
                # (the chain on MNIST: unconditional NFE 10 FD 14.2 annealed in 1,037 steps, 15.6 cut at 1,037 of 4,000)
                steps = min(steps, max(1, int(0.95 * steps_per_second * max_minutes * 60)))
        cfg = base.replace(
            out=str(out),
            pairs=str(out / PAIRS_FILE),
            init_from=str(run_dir),
            steps=steps,
            lr=base.lr if lr is None else lr,
            seed=seed,
            distill_fraction=distill_fraction,
            objective=objective,
            distill_guidance=guidance if fixed.guidance is not None else 0.0,
            max_minutes=max_minutes,
            progress=progress,
            save_every=max(steps, 1),
            warmup_steps=0,
            **student_samplers(base, objective, distill_fraction, base_run.data.num_classes),
        )
        try:
            res = train(cfg)
        except RunInterrupted as exc:  # reflow refuses a directory that holds a run: it has no --resume
            raise exc.in_a_chain() from None
        after = straightness(load_run(out, device=device).model, x_eval)
        result = ReflowResult(out, res.step, res.seconds, pair_seconds, before, after)
        atomic_write_text(out / "reflow.json", json.dumps(reflow_record(result), indent=2) + "\n")
        return result


def _check_reflow(pairs: int, steps: int, objective: str, path_share: float, null_fraction: float | None, guidance: float) -> None:
    """One-line errors for reflow arguments that cannot work, before anything is read or written."""
    if pairs < 1 or steps < 0:
        raise FlowmatchError(f"pairs must be >= 1 and steps >= 0, got {pairs} and {steps}")
    if objective not in ("fm", "flowmap"):
        raise FlowmatchError(f"reflow trains objective fm or flowmap, got {objective!r}")
    if not 0.0 < path_share < 1.0 or not (null_fraction is None or 0.0 <= null_fraction <= 1.0):
        raise FlowmatchError(f"path_share must lie in (0, 1) and null_fraction in [0, 1], got {path_share} and {null_fraction}")
    if guidance > 0 and (objective != "flowmap" or guidance < 1):
        raise FlowmatchError(f"distilling guided paths needs the flowmap objective and a largest weight >= 1, got {objective!r} and {guidance}")


@torch.no_grad()
def teacher_pairs(
    base_run: Run,
    n: int,
    *,
    seed: int,
    paths: bool,
    method: str,
    solver_steps: int,
    guidance: float,
    guidance_interval: tuple[float, float],
    null_fraction: float,
    deadline: float | None,
    progress: bool,
) -> FixedPairs:
    """n couplings (x0, ODE_1(x0)) of the base run's flow, with labels for labelled data (a
    null_fraction of them the null class) and, with paths=True, the teacher's solved paths;
    guidance > 0: each labelled path solved guided with its own weight in [1, guidance].
    Fewer than n if the clock passes `deadline`."""
    g = torch.Generator().manual_seed(seed)
    x0 = base_run.source.sample(n, g).x.to(base_run.device)
    y = pair_labels(n, base_run.data.num_classes, null_fraction, g)
    y = None if y is None else y.to(base_run.device)
    weights, teacher = None, base_run.model
    if guidance > 0 and y is not None:  # each labelled path its own weight in [1, guidance]; null rows 0
        weights = torch.where(y < base_run.data.num_classes, 1 + (guidance - 1) * torch.rand(n, generator=g).to(y.device), 0.0)
        teacher = RowGuidedVelocity(base_run.model, base_run.data.num_classes, guidance_interval)
    # the pairs are solved at the precision the base trained in: bf16 autocast (where the run's
    # precision chose it) made MNIST pairs 1.8x faster at the same teacher quality (docs/benchmarks.md)
    with torch.autocast(base_run.device.type, dtype=torch.bfloat16, enabled=uses_bf16(base_run.config.precision, base_run.device)):
        chunk = 8192 if len(x0.shape) == 2 else 256
        if paths:
            # images keep their paths in float16: 25,600 MNIST paths at 5 times take 400 MB so
            dtype = torch.float32 if len(x0.shape) == 2 else torch.float16
            states, velocities, times = make_paths(teacher, x0, method=method, steps=solver_steps, y=y, deadline=deadline, chunk=chunk, dtype=dtype, guidance=weights, progress=progress)
            x1 = states[-1].float()
            kept = {"states": states, "velocities": velocities, "times": times}
            if weights is not None:
                kept["guidance"] = weights[: len(x1)].float().cpu()
        else:
            x1, kept = make_pairs(base_run.model, x0, method=method, steps=solver_steps, y=y, deadline=deadline, chunk=chunk, progress=progress).float(), {}
    return FixedPairs(x0[: len(x1)], x1, None if y is None else y[: len(x1)], **kept)


def student_samplers(base: TrainConfig, objective: str, distill_fraction: float, num_classes: int) -> dict:
    """The sampler options of a student trained from `base`: a distilled student samples with its
    objective's own step (flowmatch.runs.recommend); a class-conditional flow-map student draws
    unguided samples (W <= 1) by the midpoint method on its velocity u(x, t, 0), guided ones by its
    own jumps: on four MNIST chains, unconditional NFE 10 FD 4.8-6.9 against 9.4-14.4 by jumps,
    guided (W = 2) NFE 10 FD 14-19 against 12-15 (docs/benchmarks.md, "The student's velocity")."""
    distilled = objective == "flowmap" or distill_fraction > 0
    return {
        "sampler": "" if distilled else base.sampler,
        "unguided_sampler": "midpoint" if objective == "flowmap" and num_classes else base.unguided_sampler,
    }


def refuse_existing_run(out: Path, source: Path | None = None) -> None:
    """A new run directory must not be the source run, nor hold any run's files (nothing is replaced)."""
    if source is not None and out.resolve() == source.resolve():
        raise FlowmatchError(f"--out {out} is the run being read; choose a new directory")
    check_output(out, "--out", directory=True, owner=out)
    found = sorted(p.name for p in out.glob("*") if p.name in RUN_FILES or p.name.startswith("reflow")) if out.is_dir() else []
    if found:
        raise FlowmatchError(f"--out {out} already holds a run ({', '.join(found)}); choose a new directory")


def reflow_record(r: ReflowResult) -> dict:
    return {
        "run": str(r.run_dir),
        "step": r.steps,
        "seconds": round(r.seconds, 2),
        "pair_seconds": round(r.pair_seconds, 2),
        "straightness_before": round(r.straightness_before, 6),
        "straightness_after": round(r.straightness_after, 6),
    }


__all__ = [
    "DISTILLATIONS",
    "RUN_FILES",
    "ReflowResult",
    "distillation",
    "refuse_existing_run",
    "make_pairs",
    "make_paths",
    "pair_labels",
    "reflow",
    "reflow_record",
    "straightness",
    "student_samplers",
    "teacher_pairs",
]
