"""What is done with a trained discrete run: samples of tokens (`sample_tokens`, its sampler
chosen by `flowmatch.runs.recommend`) and the likelihood bound of token data (`run_bound`)."""

from __future__ import annotations

import torch
from torch import Tensor

from flowmatch.data import TextData, load_data
from flowmatch.discrete import BoundResult, DiscreteSampleResult, Posterior, mask_elbo, posterior, sample_discrete
from flowmatch.errors import FlowmatchError
from flowmatch.runs.recommend import recommended_sampler
from flowmatch.runs.run import Run


def _check(run: Run) -> None:
    if not run.discrete:
        raise FlowmatchError("this run is a flow on continuous data; token sampling and the likelihood bound apply to discrete runs")


@torch.no_grad()
def sample_tokens(
    run: Run,
    n: int,
    *,
    steps: int | None = None,
    method: str | None = None,
    seed: int = 0,
    y: Tensor | None = None,
    guidance: float = 1.0,
    guidance_space: str = "logits",
    temperature: float = 1.0,
    corrector: float = 0.0,
    trajectory: bool = False,
) -> DiscreteSampleResult:
    """n token sequences (n, L) from a discrete run: its chain from the source in `steps` steps of
    `method` (None: the run's recommendation, `flowmatch.runs.recommend`).

    y: (n,) class labels for a class-conditional run, guided at weight `guidance` on the posterior's
    logits or on the rates (`guidance_space`, see flowmatch.discrete.posterior); y=None: the null class.
    """
    _check(run)
    if y is not None and len(y) != n:
        raise FlowmatchError(f"got {len(y)} class labels for {n} samples")
    g = torch.Generator().manual_seed(seed)
    x0 = run.source.sample(n, g).x.to(run.device)
    post = posterior(run.model, y=None if y is None else y.to(run.device), guidance=guidance, num_classes=run.data.num_classes, space=guidance_space, temperature=temperature)
    chosen = recommended_sampler(run.config, card=run.recommended, method=method, steps=steps)
    return sample_discrete(post, run.path, x0, steps=chosen.steps, method=chosen.method, corrector=corrector, trajectory=trajectory, generator=g)


def token_data(run: Run, spec: str):
    """Token data to score under a run: text with the run's vocabulary and window length, or its own kind of data."""
    _check(run)
    vocabulary = getattr(run.data, "vocabulary", None)
    if vocabulary is not None:
        return load_data(spec, seq_len=run.config.seq_len, vocabulary=vocabulary)
    data = load_data(spec, vocab_size=run.path.vocab_size if spec.endswith((".npy", ".npz")) else 0)
    if tuple(data.shape) != tuple(run.data.shape) or getattr(data, "vocab_size", 0) != run.path.vocab_size:
        raise FlowmatchError(f"{spec} holds sequences of shape {tuple(data.shape)} over {getattr(data, 'vocab_size', 0)} tokens; this run models {tuple(run.data.shape)} over {run.path.vocab_size}")
    return data


@torch.no_grad()
def run_bound(run: Run, spec: str, *, n: int = 0, samples: int = 1, batch_size: int = 64, seed: int = 0) -> BoundResult:
    """The mask path's likelihood bound (nats per token, bits per character) of token data `spec`
    under a run: text as consecutive windows of the run's length (all of them, or the first n);
    other token data as n draws (default 1000)."""
    data = token_data(run, spec)
    g = torch.Generator().manual_seed(seed)
    if isinstance(data, TextData):
        x1 = data.windows()
        x1 = x1[:n] if n else x1
        if len(x1) == 0:
            raise FlowmatchError(f"{spec} is shorter than one window of {data.seq_len} characters")
    else:
        x1 = data.sample(n or 1000, g).x
    return mask_elbo(Posterior(run.model), run.path, x1.to(run.device), samples=samples, batch_size=batch_size, generator=g)


__all__ = ["run_bound", "sample_tokens", "token_data"]
