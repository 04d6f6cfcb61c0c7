"""Log-likelihoods of data under a trained run (see flowmatch.likelihood for the method;
flowmatch.manifolds for a run on a manifold)."""

from __future__ import annotations

import torch
from torch import Tensor

from flowmatch.data import GaussianSource
from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import LikelihoodResult, image_log_likelihood, log_likelihood, manifold_log_likelihood, to_pixels
from flowmatch.runs.run import Run, space_of
from flowmatch.training.progress import progress_bar

# A flow on a manifold is integrated by a fixed-step manifold solver: its default and step count.
MANIFOLD_LIKELIHOOD_SOLVER, MANIFOLD_LIKELIHOOD_STEPS = "midpoint", 100
FLAT_LIKELIHOOD_SOLVER, FLAT_LIKELIHOOD_STEPS = "dopri5", 32


def likelihood_solver(run: Run, method: str | None, steps: int | None) -> tuple[str, int]:
    """(solver, steps) of a run's likelihood where not named: dopri5 in flat space, 100 midpoint steps on a manifold."""
    curved = space_of(run) is not None
    default_method, default_steps = (MANIFOLD_LIKELIHOOD_SOLVER, MANIFOLD_LIKELIHOOD_STEPS) if curved else (FLAT_LIKELIHOOD_SOLVER, FLAT_LIKELIHOOD_STEPS)
    return method or default_method, steps or default_steps


def run_source_scale(run: Run) -> float:
    """The standard deviation s of a run's Gaussian source N(0, s^2 I); an error otherwise."""
    if not isinstance(run.source, GaussianSource):
        raise FlowmatchError(f"likelihoods need a Gaussian source; this run's source is {run.config.source!r} (a two-sided flow has no tractable source density)")
    return float(run.source.scale)


def run_log_likelihood(run: Run, x: Tensor, *, images: bool | None = None, progress: bool = False, **kwargs) -> LikelihoodResult:
    """log-likelihood of x: (N, *D) in the run's data space (keywords as `log_likelihood`);
    progress: a progress bar on a terminal.

    Image runs (D of the form (C, H, W)) take x in [-1, 1], turn it back into pixel values,
    dequantise and report bits per dimension. A run on a manifold scores points on it, in nats
    w.r.t. the volume measure (`manifold_log_likelihood`; atol and rtol do not apply).
    """
    manifold = space_of(run)
    if manifold is not None:
        rest = {k: v for k, v in kwargs.items() if k not in ("atol", "rtol")}
        with progress_bar(len(x), "likelihood", enabled=progress, unit="point") as bar:
            source = getattr(run.source, "log_prob", None)  # a fitted source's density; else the uniform one
            return manifold_log_likelihood(manifold, run.model, x.to(run.device, torch.float32), on_batch=bar.update, source_log_prob=source, **rest)
    scale = run_source_scale(run)
    x = x.to(run.device)
    if images is None:
        images = x.ndim == 4
    with progress_bar(len(x), "likelihood", enabled=progress, unit="point") as bar:
        if images:
            return image_log_likelihood(run.model, to_pixels(x).to(run.device), source_scale=scale, on_batch=bar.update, **kwargs)
        return log_likelihood(run.model, x.to(torch.float32), source_scale=scale, on_batch=bar.update, **kwargs)


__all__ = ["likelihood_solver", "run_log_likelihood", "run_source_scale"]
