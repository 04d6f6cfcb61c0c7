"""Classifier-free guidance: a guided velocity from one class-conditional network.

The network is trained with labels dropped to the null class (index `num_classes`) with
probability p; at sampling, for guidance weight w,

    v_w(x, t | c) = v(x, t | null) + w (v(x, t | c) - v(x, t | null)),

so w = 0 is unconditional, w = 1 is plainly conditional, and w > 1 sharpens the class.
Conditional and null halves go through the network in ONE forward pass (a batch of 2B).

Reference: Ho & Salimans (2022), Classifier-Free Diffusion Guidance.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.models.embeddings import null_labels


def check_labels(y: Tensor, num_classes: int) -> Tensor:
    """y as a LongTensor (B,), every entry a real class 0..num_classes-1 (else a one-line error)."""
    y = torch.as_tensor(y).long().reshape(-1)
    if num_classes < 1:
        raise FlowmatchError("this run was trained without class labels; sample it without --class")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        bad = int(y[(y < 0) | (y >= num_classes)][0])
        raise FlowmatchError(f"class {bad} is out of range: this run has {num_classes} classes (0..{num_classes - 1})")
    return y


class GuidedVelocity:
    """v(x, t) = v(x, t, y=null) + w (v(x, t, y) - v(x, t, y=null)); x: (B, *D), t: (B,), y: (B,).

    w = 1 needs only the conditional half and w = 0 only the null half (one pass of B);
    any other w runs one pass of 2B on [x; x] with labels [y; null].
    """

    def __init__(self, model: Callable[..., Tensor], y: Tensor, guidance: float, num_classes: int):
        if not math.isfinite(float(guidance)):
            raise FlowmatchError(f"guidance must be a finite number, got {guidance}")
        self.model, self.guidance, self.num_classes = model, float(guidance), num_classes
        self.y = check_labels(y, num_classes)
        self.calls = 0

    def __call__(self, x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        """Other conditioning tensors in `cond` (B, ...) go to the model with both halves."""
        self.calls += 1
        y = self.y.to(x.device)
        null = null_labels(len(y), self.num_classes, x.device)
        w = self.guidance
        if w == 1.0:
            return self.model(x, t, y=y, **cond)
        if w == 0.0:
            return self.model(x, t, y=null, **cond)
        both = {k: torch.cat([v, v]) if isinstance(v, Tensor) else v for k, v in cond.items()}  # (joint=True passes as is)
        out = self.model(torch.cat([x, x]), torch.cat([t, t]), y=torch.cat([y, null]), **both)
        v_cond, v_uncond = out.chunk(2)
        return v_uncond + w * (v_cond - v_uncond)


def drop_labels(y: Tensor, p: float, num_classes: int, generator: torch.Generator) -> Tensor:
    """Training-time label dropout: each label becomes the null class with probability p."""
    return apply_label_drop(y, label_drop_mask(y.shape[0], p, generator), num_classes)


def label_drop_mask(n: int, p: float, generator: torch.Generator) -> Tensor | None:
    """(n,) bool: which of n labels drop to the null class (probability p each); None when p <= 0.

    Drawn apart from `apply_label_drop` so that a coupling can pair by the true labels first.
    """
    return torch.rand(n, generator=generator) < p if p > 0 else None


def apply_label_drop(y: Tensor, mask: Tensor | None, num_classes: int) -> Tensor:
    """y with the labels where mask is true set to the null class `num_classes`."""
    return y if mask is None else torch.where(mask.to(y.device), torch.full_like(y, num_classes), y)


__all__ = ["GuidedVelocity", "apply_label_drop", "drop_labels", "label_drop_mask", "null_labels", "check_labels"]
