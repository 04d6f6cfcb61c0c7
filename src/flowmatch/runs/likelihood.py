"""Log-likelihoods of data under a trained run (see flowmatch.likelihood for the method)."""

from __future__ import annotations

import torch
from torch import Tensor

from flowmatch.data import GaussianSource
from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import LikelihoodResult, image_log_likelihood, log_likelihood, to_pixels
from flowmatch.runs.run import Run
from flowmatch.training.progress import progress_bar


def run_source_scale(run: Run) -> float:
    """The standard deviation s of a run's Gaussian source N(0, s^2 I); an error otherwise."""
    if not isinstance(run.source, GaussianSource):
        raise FlowmatchError(f"likelihoods need a Gaussian source; this run's source is {run.config.source!r} (a two-sided flow has no tractable source density)")
    return float(run.source.scale)


def run_log_likelihood(run: Run, x: Tensor, *, images: bool | None = None, progress: bool = False, **kwargs) -> LikelihoodResult:
    """log-likelihood of x: (N, *D) in the run's data space (keywords as `log_likelihood`);
    progress: a progress bar on a terminal.

    Image runs (D of the form (C, H, W)) take x in [-1, 1], turn it back into pixel values,
    dequantise and report bits per dimension.
    """
    scale = run_source_scale(run)
    x = x.to(run.device)
    if images is None:
        images = x.ndim == 4
    with progress_bar(len(x), "likelihood", enabled=progress, unit="point") as bar:
        if images:
            return image_log_likelihood(run.model, to_pixels(x).to(run.device), source_scale=scale, on_batch=bar.update, **kwargs)
        return log_likelihood(run.model, x.to(torch.float32), source_scale=scale, on_batch=bar.update, **kwargs)


__all__ = ["run_log_likelihood", "run_source_scale"]
