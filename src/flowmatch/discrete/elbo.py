"""The evidence lower bound of the mask path: an upper bound on -log p(x1) per token.

With w_t = kappa'_t / (1 - kappa_t) and M_t the masked tokens of x_t,

    -log p(x1) <= int_0^1 w_t E[ sum_{i in M_t} -log p(x1^i | x_t) ] dt,

estimated by the draw of `flowmatch.discrete.loss.draw_masked_count` (m ~ U{1..L} masked
tokens, kappa ~ Beta(L - m + 1, m)): each row gives (1/m) sum_{i in M} -log p(x1^i | x_t) nats
per token, bounded and unbiased. For character-level text a token is a character: bits per
character = nats per token / ln 2.

Reference: Sahoo et al., "Simple and Effective Masked Diffusion Language Models" (2024); Shi et
al., "Simplified and Generalized Masked Diffusion for Discrete Data" (2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import Tensor

from flowmatch.discrete.loss import draw_masked_count
from flowmatch.discrete.path import MixturePath
from flowmatch.errors import FlowmatchError


@dataclass(frozen=True)
class BoundResult:
    """nll: the bound in nats per token; bpc: in bits per token (character); stderr: the
    estimate's standard error in nats per token; rows, tokens: what it was measured on."""

    nll: float
    bpc: float
    stderr: float
    rows: int
    tokens: int


@torch.no_grad()
def mask_elbo(
    posterior: Callable[..., Tensor],
    path: MixturePath,
    x1: Tensor,
    *,
    samples: int = 1,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
    cond: Mapping[str, Tensor] | None = None,
) -> BoundResult:
    """The bound for sequences x1: (N, L), `samples` draws per row; posterior(x, t, **cond) -> (B, L, V) log-probabilities."""
    if path.source != "mask":
        raise FlowmatchError("the likelihood bound is that of the mask path; this model was trained on the uniform source")
    if x1.dim() != 2 or len(x1) == 0:
        raise FlowmatchError(f"sequences for the bound must be (N, L) with N >= 1, got shape {tuple(x1.shape)}")
    if x1.is_floating_point() or int(x1.min()) < 0 or int(x1.max()) >= path.vocab_size:
        raise FlowmatchError(f"sequences for the bound must hold tokens 0..{path.vocab_size - 1}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    cond = dict(cond or {})
    estimates = []
    for _ in range(int(samples)):
        for start in range(0, len(x1), batch_size):
            rows = x1[start : start + batch_size]
            part = {k: v[start : start + batch_size] for k, v in cond.items()}
            x_t, t, masked, m = draw_masked_count(path, rows, generator)
            log_p = posterior(x_t, t, **part).gather(-1, rows.unsqueeze(-1)).squeeze(-1)
            estimates.append(torch.where(masked, -log_p, torch.zeros_like(log_p)).sum(1) / m)
    per_row = torch.cat(estimates).double()
    nll = float(per_row.mean())
    stderr = float(per_row.std() / math.sqrt(len(per_row))) if len(per_row) > 1 else float("nan")
    return BoundResult(nll, nll / math.log(2.0), stderr, len(x1), int(x1.numel()))
