"""Sampling the continuous-time Markov chain of a mixture path with a discrete Euler method.

Given the posterior q = p_{1|t}(. | x_t) of each token (a `Posterior`), the chain's rates toward
the data are the mixture path's velocity

    u_t(y, x) = kappa'_t / (1 - kappa_t) (q(y) - delta(y, x)),

plus, with a corrector weight c > 0, the divergence-free term that leaves p_t unchanged

    c kappa'_t / (kappa_t (1 - kappa_t)) ((1 - kappa_t) p0(y) + kappa_t q(y) - delta(y, x)),

which sends tokens back toward the source as the forward term brings them to the data (a
predictor-corrector). A step from t to s moves each token to y != x with probability
Delta u_t(y, x), where Delta is h = s - t ('euler': the plain Euler step in t) or, with the rates
written per unit of kappa, kappa_s - kappa_t ('kappa': the Euler step in kappa, exact for the
mixture's own time dependence). The jump probabilities of a token are scaled down together when
they sum to more than 1, so a step never leaves the simplex; the last step, which ends at t = 1
where kappa = 1, draws every token from q. Each step evaluates the posterior once (nfe = steps).

Reference: Campbell et al., "Generative Flows on Discrete State-Spaces" (2024); Gat et al.,
"Discrete Flow Matching" (2024), for the corrector (divergence-free) term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import Tensor

from flowmatch.discrete.path import MixturePath
from flowmatch.errors import FlowmatchError

DISCRETE_METHODS = ("kappa", "euler")


@dataclass(frozen=True)
class DiscreteSampleResult:
    """x: (B, L) tokens; trajectory: (T, B, L) or None; times: (T,) or None; nfe: posterior evaluations."""

    x: Tensor
    trajectory: Tensor | None
    times: Tensor | None
    nfe: int


def categorical(weights: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One draw per row of non-negative weights (N, K) (not necessarily normalised) -> (N,) indices."""
    cdf = weights.cumsum(-1)
    u = torch.rand(weights.shape[:-1], generator=generator, dtype=cdf.dtype).to(weights.device) * cdf[..., -1]
    return torch.searchsorted(cdf, u.unsqueeze(-1)).squeeze(-1).clamp(max=weights.shape[-1] - 1)


def discrete_step(path: MixturePath, x: Tensor, log_q: Tensor, t: float, s: float, *, method: str = "kappa", corrector: float = 0.0, generator: torch.Generator | None = None) -> Tensor:
    """One step of the chain from t to s: x: (B, L) tokens, log_q: (B, L, V) log jump weights
    (carried over on the mask path). A step that ends at s = 1 draws every token from the normalised q."""
    q = log_q.exp()
    if s >= 1.0:
        return categorical(q.reshape(-1, q.shape[-1]), generator).reshape(x.shape)
    kt = float(path.schedule.kappa(torch.tensor(t, dtype=torch.float64)))
    if method == "kappa":
        dk = float(path.schedule.kappa(torch.tensor(s, dtype=torch.float64))) - kt
    else:
        dk = (s - t) * float(path.schedule.d_kappa(torch.tensor(t, dtype=torch.float64)))
    if path.input_vocab > path.vocab_size:  # the mask column: never a destination of the forward term
        q = torch.nn.functional.pad(q, (0, path.input_vocab - path.vocab_size))
    rates = dk / max(1.0 - kt, 1e-12) * q
    if corrector > 0:  # kappa_t = 0 would divide by zero: the term then resamples the source, bounded by the cap
        rates = rates + corrector * dk / (max(kt, 1e-6) * max(1.0 - kt, 1e-12)) * ((1 - kt) * path.source_probs(x.device) + kt * q)
    return _jump(x, rates, generator)


def _jump(x: Tensor, rates: Tensor, generator: torch.Generator | None) -> Tensor:
    """Move each token to y != x with probability rates[y] (scaled to sum to at most 1)."""
    rates = rates.scatter(-1, x.unsqueeze(-1), 0.0)
    total = rates.sum(-1)
    u = torch.rand(x.shape, generator=generator).to(x.device)
    jump = u < total.clamp(max=1.0)
    if not bool(jump.any()):
        return x
    out = x.clone()
    out[jump] = categorical(rates[jump], generator)
    return out


def sample_discrete(
    posterior: Callable[..., Tensor],
    path: MixturePath,
    x0: Tensor,
    *,
    steps: int = 64,
    method: str = "kappa",
    corrector: float = 0.0,
    trajectory: bool = False,
    generator: torch.Generator | None = None,
    cond: Mapping[str, Tensor] | None = None,
) -> DiscreteSampleResult:
    """Run the chain from x0: (B, L) at t = 0 to t = 1 in `steps` equal steps; t passed as (B,).

    posterior(x, t, **cond) -> (B, L, V) log jump weights (see `flowmatch.discrete.posterior`).
    """
    if method not in DISCRETE_METHODS:
        raise FlowmatchError(f"unknown discrete sampler {method!r}; choose one of {', '.join(DISCRETE_METHODS)}")
    if int(steps) < 1:
        raise FlowmatchError(f"steps must be at least 1, got {steps}")
    if not (math.isfinite(float(corrector)) and corrector >= 0):
        raise FlowmatchError(f"the corrector weight must be a number >= 0, got {corrector}")
    path.check_tokens(x0, "x0")
    cond = dict(cond or {})
    times = torch.linspace(0.0, 1.0, int(steps) + 1, dtype=torch.float64)
    ts = times.tolist()
    x, saved, nfe = x0, [x0] if trajectory else None, 0
    for t, s in zip(ts[:-1], ts[1:]):
        log_q = path.carry_over(posterior(x, torch.full((x.shape[0],), t, dtype=torch.float32, device=x.device), **cond), x)
        nfe += 1
        x = discrete_step(path, x, log_q, t, s, method=method, corrector=float(corrector), generator=generator)
        if saved is not None:
            saved.append(x)
    return DiscreteSampleResult(x, torch.stack(saved) if saved is not None else None, times if trajectory else None, nfe)
