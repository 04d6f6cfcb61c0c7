"""Figures of a discrete run: the total variation of its samples to an exact law (where the data
have one, as the 2D discrete checkerboard) beside the Monte-Carlo floor, and the likelihood bound."""

from __future__ import annotations

from typing import Any

import torch

from flowmatch.errors import FlowmatchError
from flowmatch.runs import Run, recommended_sampler, run_bound, sample_tokens


def histogram_tv(x: torch.Tensor, probabilities: torch.Tensor) -> float:
    """Total variation between the histogram of (N, 2) tokens and an exact law (V, V)."""
    v = probabilities.shape[0]
    hist = torch.bincount(x[:, 0].long() * v + x[:, 1].long(), minlength=v * v).double() / len(x)
    return 0.5 * float((hist - probabilities.reshape(-1).double()).abs().sum())


def evaluate_discrete(run: Run, ref: str | None, *, n: int = 10_000, steps: int | None = None, method: str | None = None, seed: int = 0) -> dict[str, Any]:
    """{'tv', 'tv_floor'} of samples (the run's recommended sampler unless `method`, `steps` are
    named) for data with an exact law, and {'nll', 'bpc'} (the bound, nats per token) of `ref`
    (default: the run's data) on the mask path."""
    chosen = recommended_sampler(run.config, card=run.recommended, method=method, steps=steps)
    method, steps = chosen.method, chosen.steps
    out: dict[str, Any] = {"solver": method, "steps": steps}
    exact = getattr(run.data, "probabilities", None)
    if exact is not None:
        p = exact()
        x = sample_tokens(run, n, steps=steps, method=method, seed=seed).x.cpu()
        out.update(n=n, tv=round(histogram_tv(x, p), 5), tv_floor=round(histogram_tv(run.data.sample(n, torch.Generator().manual_seed(seed + 1)).x, p), 5))
    if run.path.source == "mask":
        bound = run_bound(run, ref or run.config.data, n=0 if exact is None else n, seed=seed)
        out.update(nll=round(bound.nll, 5), nll_se=round(bound.stderr, 5), bpc=round(bound.bpc, 5))
    if len(out) == 2:
        raise FlowmatchError("this discrete run has no exact law to compare with and no likelihood bound (uniform source); sample it and judge the samples")
    return out
