"""The one place a run's sampler is chosen: solver and step count for `sample`, `eval`, exports,
model cards and `Pretrained.sample` alike, unless the caller names them.

The order: what the caller names; for density guidance, the solver it is measured to work with;
the model card's recommendation (an exported model); the run's own `unguided_sampler` for
draws without classifier-free guidance and its `sampler`; else its objective's own step.
A run on a manifold (`--manifold`) samples with the manifold solvers (flowmatch.manifolds):
its `sampler` where that is one of them, else the projected midpoint method, 50 steps. A
discrete run (a flow on tokens) chooses among the chain's steps (DISCRETE_METHODS): the caller's,
the card's, else its `discrete_sampler`, in DISCRETE_STEPS steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowmatch.discrete import DISCRETE_METHODS
from flowmatch.errors import FlowmatchError
from flowmatch.solvers import ADAPTIVE, MANIFOLD_SOLVERS, MAX_STEPS, SOLVERS  # MAX_STEPS: a card or config may not ask for more (a sample must finish)

# Density guidance follows v + lambda grad(-div v), a field far stiffer than v: solved by the
# midpoint method in 4 steps it scatters the samples and lowers their model log-density; by
# RK4 in 16 steps it raises it, as it should (the guide's "Density guidance" page has the figures).
DENSITY_GUIDANCE_SAMPLER = ("rk4", 16)
# Steps of a multi-step flow when nothing says otherwise (NFE 8 with the midpoint method).
DEFAULT_STEPS = 4
# On a manifold: the geodesics curve and the learned fields are sharper (earth data), so more steps.
MANIFOLD_SAMPLER = ("midpoint", 50)
# Steps of a discrete run's chain when nothing says otherwise: where the discrete checkerboard's
# TV reaches its Monte-Carlo floor (docs/benchmarks/discrete.md).
DISCRETE_STEPS = 64


@dataclass(frozen=True)
class SamplerSettings:
    """method: a solver of flowmatch.solvers; steps: its step count (None for adaptive solvers)."""

    method: str
    steps: int | None


def objective_sampler(config: Any) -> str:
    """The solver a run's objective samples with: its own step for an average-velocity model,
    Euler for a one-step distilled flow, else the midpoint method."""
    if config.objective in ("meanflow", "flowmap"):
        return "meanflow"
    return "euler" if config.distill_fraction > 0 else "midpoint"


def card_recommendation(meta: Any) -> SamplerSettings | None:
    """The `recommended` entry of an export's config.json, checked, or None."""
    rec = meta.get("recommended") if isinstance(meta, dict) else None
    if not isinstance(rec, dict):
        return None
    method, steps = rec.get("solver"), rec.get("steps")
    if method not in SOLVERS and method not in MANIFOLD_SOLVERS and method not in DISCRETE_METHODS:
        raise FlowmatchError(f"the model card recommends an unknown solver {method!r}; choose one of {', '.join(dict.fromkeys(SOLVERS + DISCRETE_METHODS))}")
    if method in ADAPTIVE:
        return SamplerSettings(method, None)
    if type(steps) is not int or not 1 <= steps <= MAX_STEPS:
        raise FlowmatchError(f"the model card recommends {steps!r} steps; expected an integer from 1 to {MAX_STEPS:,}")
    return SamplerSettings(method, steps)


def recommended_sampler(
    config: Any,
    *,
    card: SamplerSettings | None = None,
    guided: bool = False,
    density_guidance: float = 0.0,
    method: str | None = None,
    steps: int | None = None,
) -> SamplerSettings:
    """The solver and step count to sample a run with (see the module's docstring for the order).

    config: the run's TrainConfig; card: an export's recommendation; guided: classifier-free
    guidance with W > 1 is applied; method, steps: what the caller named (None: choose).
    """
    if config.objective == "discrete":
        return _discrete_sampler(config, card, method, steps)
    if method in DISCRETE_METHODS and method not in SOLVERS:
        raise FlowmatchError(f"--solver {method} is a step of a discrete run's chain (flows on tokens); choose one of {', '.join(SOLVERS)}")
    if getattr(config, "manifold", "euclidean") != "euclidean":
        return manifold_sampler(config, card, method, steps)
    if method is None:
        if density_guidance:
            method = DENSITY_GUIDANCE_SAMPLER[0]
        elif card is not None and (guided or not config.unguided_sampler):
            method = card.method
        elif not guided and config.unguided_sampler:
            method = config.unguided_sampler
        else:
            method = config.sampler or objective_sampler(config)
    if method not in SOLVERS:
        raise FlowmatchError(f"unknown solver {method!r}; choose one of {', '.join(SOLVERS)}")
    if method in ADAPTIVE:
        return SamplerSettings(method, None)
    if steps is None:
        if density_guidance:
            steps = DENSITY_GUIDANCE_SAMPLER[1]
        elif card is not None and method == card.method:
            steps = card.steps
        else:
            steps = 1 if config.distill_fraction > 0 and method in ("euler", "meanflow") else DEFAULT_STEPS
    if type(steps) is not int or not 1 <= steps <= MAX_STEPS:
        raise FlowmatchError(f"steps must be an integer from 1 to {MAX_STEPS:,}, got {steps!r}")
    return SamplerSettings(method, steps)


def _discrete_sampler(config: Any, card: SamplerSettings | None, method: str | None, steps: int | None) -> SamplerSettings:
    """The chain's step and step count of a discrete run."""
    if method is not None and method not in DISCRETE_METHODS:
        raise FlowmatchError(f"a discrete run samples its chain with --solver {' or '.join(DISCRETE_METHODS)}, not {method}")
    if method is None:
        method = card.method if card is not None and card.method in DISCRETE_METHODS else config.discrete_sampler
    if steps is None:
        steps = card.steps if card is not None and card.method == method else DISCRETE_STEPS
    if type(steps) is not int or not 1 <= steps <= MAX_STEPS:
        raise FlowmatchError(f"steps must be an integer from 1 to {MAX_STEPS:,}, got {steps!r}")
    return SamplerSettings(method, steps)


def manifold_sampler(config: Any, card: SamplerSettings | None, method: str | None, steps: int | None) -> SamplerSettings:
    """The solver and steps of a run on a manifold: named, the card's, the run's `sampler` if a manifold solver, else MANIFOLD_SAMPLER."""
    if method is None:
        method = card.method if card is not None else (config.sampler if config.sampler in MANIFOLD_SOLVERS else MANIFOLD_SAMPLER[0])
    if method not in MANIFOLD_SOLVERS:
        raise FlowmatchError(f"a flow on the {config.manifold} samples with a manifold solver; choose one of {', '.join(MANIFOLD_SOLVERS)}, not {method!r}")
    if steps is None:
        steps = card.steps if card is not None and method == card.method and card.steps else MANIFOLD_SAMPLER[1]
    if type(steps) is not int or not 1 <= steps <= MAX_STEPS:
        raise FlowmatchError(f"steps must be an integer from 1 to {MAX_STEPS:,}, got {steps!r}")
    return SamplerSettings(method, steps)


__all__ = [
    "DISCRETE_STEPS",
    "DEFAULT_STEPS",
    "DENSITY_GUIDANCE_SAMPLER",
    "MANIFOLD_SAMPLER",
    "MAX_STEPS",
    "manifold_sampler",
    "SamplerSettings",
    "card_recommendation",
    "objective_sampler",
    "recommended_sampler",
]
