"""The one place a run's sampler is chosen: solver and step count for `sample`, `eval`, exports,
model cards and `Pretrained.sample` alike, unless the caller names them.

The order: what the caller names; for density guidance, the solver it is measured to work with;
the model card's recommendation (an exported model); the run's own `unguided_sampler` for
draws without classifier-free guidance and its `sampler`; else its objective's own step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowmatch.errors import FlowmatchError
from flowmatch.solvers import ADAPTIVE, SOLVERS

# Density guidance follows v + lambda grad(-div v), a field far stiffer than v: solved by the
# midpoint method in 4 steps it scatters the samples and lowers their model log-density; by
# RK4 in 16 steps it raises it, as it should (the guide's "Density guidance" page has the figures).
DENSITY_GUIDANCE_SAMPLER = ("rk4", 16)
# Steps of a multi-step flow when nothing says otherwise (NFE 8 with the midpoint method).
DEFAULT_STEPS = 4
# A card or config may not ask for more steps than this (a sample must finish).
MAX_STEPS = 100_000


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
    if method not in SOLVERS:
        raise FlowmatchError(f"the model card recommends an unknown solver {method!r}; choose one of {', '.join(SOLVERS)}")
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


__all__ = ["DEFAULT_STEPS", "DENSITY_GUIDANCE_SAMPLER", "MAX_STEPS", "SamplerSettings", "card_recommendation", "objective_sampler", "recommended_sampler"]
