"""Training losses of the posterior p_{1|t}(x1 | x_t) and the draws of times they are taken at.

Generalised KL (the Bregman divergence between the conditional and the model's jump rates of
the mixture path, per token, with w_t = kappa'_t / (1 - kappa_t) and delta = [x_t^i = x1^i]):

    D = w_t [ (1 - delta) (-log p(x1^i | x_t) - 1) + 1 - p(x_t^i | x_t) ]  >= 0,

which on the mask path is w_t (-log p(x1^i | x_t)) on masked tokens and 0 elsewhere: the
integrand of the evidence lower bound. Cross-entropy drops the weight: -log p(x1^i | x_t).

The mask path's bound is drawn by the number of masked tokens rather than by t: m ~ U{1..L},
kappa ~ Beta(L - m + 1, m), m tokens masked uniformly at random, and the row's estimate is
(1/m) sum over the masked tokens of -log p(x1^i | x_t) (nats per token). Its expectation is the
time integral of the KL loss over t ~ U(0, 1), divided by L, without the heavy tail that the
weight w_t gives near t = 1.

References: Shaul et al., "Flow Matching with General Discrete Paths: A Kinetic-Optimal
Perspective" (2024); Shi et al., "Simplified and Generalized Masked Diffusion for Discrete Data" (2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from flowmatch.discrete.path import MixturePath
from flowmatch.errors import FlowmatchError

DISCRETE_LOSSES = ("kl", "ce")


@dataclass(frozen=True)
class DiscreteDraw:
    """x_t: (B, L) tokens on the path, t: (B,) times, weight: (B, L) the weight of each token's
    loss term (its sum over a row is that row's share of the per-token mean)."""

    x_t: Tensor
    t: Tensor
    weight: Tensor


def draw_training(path: MixturePath, x1: Tensor, loss: str, generator: torch.Generator) -> DiscreteDraw:
    """Times and x_t for a batch x1: (B, L). Mask path with loss 'kl': the bound's draw by the
    number of masked tokens (weights 1/m on the masked tokens, 1/L of each row's total); otherwise
    t ~ U(0, 1 - 1e-3) and per-token weights 1/L (cross-entropy on the mask path: 1/(masked count))."""
    if loss not in DISCRETE_LOSSES:
        raise FlowmatchError(f"unknown discrete loss {loss!r}; choose one of {', '.join(DISCRETE_LOSSES)}")
    b, length = x1.shape
    if path.source == "mask" and loss == "kl":
        x_t, t, masked, m = draw_masked_count(path, x1, generator)
        return DiscreteDraw(x_t, t, masked.float() / m[:, None].float())
    # t < 1 - 1e-3: the weight kappa'/(1 - kappa) of the uniform path's KL is unbounded at t = 1
    t = (torch.rand(b, generator=generator) * (1 - 1e-3)).to(x1.device)
    x_t = path.sample(x1, t, generator)
    if path.source == "mask" and loss == "ce":
        masked = (x_t == path.mask_token).float()
        return DiscreteDraw(x_t, t, masked / masked.sum().clamp(min=1.0) * b)
    return DiscreteDraw(x_t, t, torch.full(x1.shape, 1.0 / length, device=x1.device))


def draw_masked_count(path: MixturePath, x1: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x_t, t, masked (B, L) bool, m (B,)): m ~ U{1..L} tokens masked uniformly at random, kappa ~ Beta(L - m + 1, m).

    Beta(L - m + 1, m) with integer parameters is the (L - m + 1)-th smallest of L uniforms, drawn so from `generator`.
    """
    b, length = x1.shape
    m = torch.randint(1, length + 1, (b,), generator=generator)
    kappa = torch.rand(b, length, generator=generator).sort(dim=1).values.gather(1, (length - m)[:, None]).squeeze(1)
    ranks = torch.rand(b, length, generator=generator).argsort(dim=1).argsort(dim=1)
    masked = (ranks < m[:, None]).to(x1.device)
    t = path.schedule.inverse(kappa.double()).float().to(x1.device)
    return torch.where(masked, torch.full_like(x1, path.vocab_size), x1), t, masked, m.to(x1.device)


def token_losses(path: MixturePath, logits: Tensor, x1: Tensor, x_t: Tensor, t: Tensor, loss: str) -> Tensor:
    """(B, L) per-token loss terms from logits: (B, L, V), x1, x_t: (B, L), t: (B,).

    'ce': -log p(x1 | x_t). 'kl' on the mask path: -log p(x1 | x_t) on masked tokens (the weight
    w_t is in the draw); on the uniform path: the generalised KL with w_t = kappa'/(1 - kappa).
    Carried-over tokens of the mask path contribute 0.
    """
    log_p = path.carry_over(F.log_softmax(logits.float(), dim=-1), x_t)
    log_p1 = log_p.gather(-1, x1.unsqueeze(-1)).squeeze(-1)
    if path.source == "mask":
        return torch.where(x_t == path.mask_token, -log_p1, torch.zeros_like(log_p1))
    if loss == "ce":
        return -log_p1
    k, dk = path.schedule.kappa(t.double()), path.schedule.d_kappa(t.double())
    w = (dk / (1 - k).clamp(min=1e-4)).float()[:, None]
    same = (x_t == x1).float()
    p_xt = log_p.gather(-1, x_t.unsqueeze(-1)).squeeze(-1).exp()
    return w * ((1 - same) * (-log_p1 - 1) + 1 - p_xt)


def discrete_loss(path: MixturePath, logits: Tensor, x1: Tensor, draw: DiscreteDraw, loss: str) -> Tensor:
    """The batch's loss: the mean over rows of sum_i weight_i * term_i (nats per token for the mask bound)."""
    terms = token_losses(path, logits, x1, draw.x_t, draw.t, loss)
    return (terms * draw.weight).sum(dim=1).mean()
