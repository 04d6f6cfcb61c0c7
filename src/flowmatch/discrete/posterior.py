"""Posteriors the sampler draws from: a network's logits as log-probabilities, and classifier-free guidance.

The sampler reads `posterior(x, t, **cond) -> log q: (B, L, V)`, the log of the jump weights of
each token: for a plain network log p_{1|t}(. | x_t) = log_softmax(logits / temperature).
Guidance combines the conditional and the unconditional (null-class) predictions of one network,
trained with label dropout, in one pass of 2B:

    logits:  log q_w = log_softmax(w log p(. | x_t, y) + (1 - w) log p(. | x_t, null)),
    rates:   log q_w = w log p(. | x_t, y) + (1 - w) log p(. | x_t, null)   (not normalised),

the second being the geometric mean of the two CTMCs' jump rates (their total changes with w);
the sampler's last step draws from the normalised q_w either way.

Reference: Nisonoff et al., "Unlocking Guidance for Discrete State-Space Diffusion and Flow
Models" (2024), for guidance on rates.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

from flowmatch.errors import FlowmatchError
from flowmatch.guidance import check_labels
from flowmatch.models.embeddings import null_labels

GUIDANCE_SPACES = ("logits", "rates")


def _check_temperature(temperature: float) -> float:
    if not (math.isfinite(float(temperature)) and float(temperature) > 0):
        raise FlowmatchError(f"temperature must be a positive number, got {temperature}")
    return float(temperature)


class Posterior:
    """log p_{1|t}(. | x_t) = log_softmax(model(x, t, **cond) / temperature): (B, L, V)."""

    def __init__(self, model: Callable[..., Tensor], temperature: float = 1.0):
        self.model, self.temperature = model, _check_temperature(temperature)

    def __call__(self, x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        return F.log_softmax(self.model(x, t, **cond).float() / self.temperature, dim=-1)


class GuidedPosterior:
    """Classifier-free guidance of a class-conditional network at weight w for labels y: (B,).

    w = 1 is the conditional posterior, w = 0 the unconditional one (one pass of B each); other
    weights take one pass of 2B. space: 'logits' or 'rates' (see the module).
    """

    def __init__(self, model: Callable[..., Tensor], y: Tensor, guidance: float, num_classes: int, space: str = "logits", temperature: float = 1.0):
        if not math.isfinite(float(guidance)):
            raise FlowmatchError(f"guidance must be a finite number, got {guidance}")
        if space not in GUIDANCE_SPACES:
            raise FlowmatchError(f"unknown guidance space {space!r}; choose one of {', '.join(GUIDANCE_SPACES)}")
        self.model, self.guidance, self.num_classes, self.space = model, float(guidance), num_classes, space
        self.temperature = _check_temperature(temperature)
        self.y = check_labels(y, num_classes)

    def __call__(self, x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        y, w = self.y.to(x.device), self.guidance
        if w in (0.0, 1.0):
            labels = y if w == 1.0 else null_labels(len(y), self.num_classes, x.device)
            return F.log_softmax(self.model(x, t, y=labels, **cond).float() / self.temperature, dim=-1)
        both = {k: torch.cat([v, v]) for k, v in cond.items()}
        out = self.model(torch.cat([x, x]), torch.cat([t, t]), y=torch.cat([y, null_labels(len(y), self.num_classes, x.device)]), **both)
        log_c, log_u = F.log_softmax(out.float() / self.temperature, dim=-1).chunk(2)
        mixed = w * log_c + (1 - w) * log_u
        return F.log_softmax(mixed, dim=-1) if self.space == "logits" else mixed


def posterior(model: Callable[..., Tensor], *, y: Tensor | None = None, guidance: float = 1.0, num_classes: int = 0, space: str = "logits", temperature: float = 1.0) -> Callable[..., Tensor]:
    """The posterior the sampler draws from: plain (y None), conditional, or guided at weight `guidance`."""
    if y is None:
        if guidance != 1.0:
            raise FlowmatchError("guidance needs class labels (--class)")
        return Posterior(model, temperature)
    return GuidedPosterior(model, y, guidance, num_classes, space, temperature)
