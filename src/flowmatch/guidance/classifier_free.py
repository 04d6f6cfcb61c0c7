"""Classifier-free guidance: a guided velocity from one class-conditional network.

The network is trained with labels dropped to the null class (index `num_classes`) with
probability p; at sampling, for guidance weight w,

    v_w(x, t | c) = v(x, t | null) + w (v(x, t | c) - v(x, t | null)),

so w = 0 is unconditional, w = 1 is plainly conditional, and w > 1 sharpens the class.
Conditional and null halves go through the network in ONE forward pass (a batch of 2B).
Guidance in a limited interval of times applies w only for t in [lo, hi] and w = 1 elsewhere:
early guidance (t near 0, high noise) is what narrows the samples most. Guidance rescale (phi)
pulls the spread of the guided data prediction back toward the conditional one, which keeps w from
over-saturating the samples. A guidance-distilled model (one that takes w as an input) is called
once with w instead.

References: Ho & Salimans (2022), Classifier-Free Diffusion Guidance; Kynkäänniemi et al. (2024),
Applying Guidance in a Limited Interval Improves Sample and Distribution Quality in Diffusion Models;
Lin et al. (2024), Common Diffusion Noise Schedules and Sample Steps are Flawed (section 3.4).
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


def rescale_guidance(x: Tensor, t: Tensor, v_guided: Tensor, v_cond: Tensor, phi: float) -> Tensor:
    """The guided velocity with its data prediction rescaled: x: (B, *D), t: (B,), v: (B, *D).

    d = x + (1 - t) v is where a straight continuation of v reaches at t = 1 (the data prediction
    of the OT path); d_guided <- d_guided (1 - phi + phi std(d_cond) / std(d_guided)), std over
    each sample's entries, returned as the velocity that reaches it. Rows at t = 1 keep v_guided.
    """
    if phi == 0.0:
        return v_guided
    left = (1 - t).to(v_guided.dtype).reshape(-1, *([1] * (x.dim() - 1)))
    d_guided, d_cond = x + left * v_guided, x + left * v_cond
    ratio = d_cond.flatten(1).std(1) / d_guided.flatten(1).std(1).clamp(min=1e-12)
    scale = (1 - phi + phi * ratio).reshape_as(left)
    # (scale d - x) / (1 - t), written so that t = 1 divides nothing: scale v + (scale - 1) x / (1 - t)
    return torch.where(left > 1e-6, scale * v_guided + (scale - 1) * x / left.clamp(min=1e-6), v_guided)


def takes_guidance(model: Callable[..., Tensor]) -> bool:
    """Whether `model` takes the guidance weight as an input (a student distilled from guided paths)."""
    return getattr(model, "guidance_embed", None) is not None


class GuidedVelocity:
    """v(x, t) = v(x, t, y=null) + w (v(x, t, y) - v(x, t, y=null)); x: (B, *D), t: (B,), y: (B,).

    w = 1 needs only the conditional half and w = 0 only the null half (one pass of B);
    any other w runs one pass of 2B on [x; x] with labels [y; null]. interval=(lo, hi): w applies
    for t in [lo, hi] only, w = 1 elsewhere. rescale = phi in [0, 1]: `rescale_guidance` of the
    guided velocity (0: plain guidance). A model that takes w as an input (`takes_guidance`) gets
    it, with the labels (null for w = 0), in one pass of B.
    """

    def __init__(self, model: Callable[..., Tensor], y: Tensor, guidance: float, num_classes: int, interval: tuple[float, float] | None = None, rescale: float = 0.0):
        if not math.isfinite(float(guidance)):
            raise FlowmatchError(f"guidance must be a finite number, got {guidance}")
        if interval is not None and not (0.0 <= interval[0] <= interval[1] <= 1.0):
            raise FlowmatchError(f"a guidance interval is two times 0 <= lo <= hi <= 1, got {interval}")
        if interval is not None and takes_guidance(model):
            raise FlowmatchError("this model learnt its guidance from guided paths (their interval is part of it); sample it without a guidance interval")
        if not 0.0 <= float(rescale) <= 1.0:
            raise FlowmatchError(f"guidance rescale is a number in [0, 1], got {rescale}")
        if rescale and takes_guidance(model):
            raise FlowmatchError("this model learnt its guidance from guided paths; sample it without guidance rescale")
        self.model, self.guidance, self.num_classes, self.interval, self.rescale = model, float(guidance), num_classes, interval, float(rescale)
        self.y = check_labels(y, num_classes)
        self.calls = 0

    def __call__(self, x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        """Other conditioning tensors in `cond` (B, ...) go to the model with both halves."""
        self.calls += 1
        y = self.y.to(x.device)
        null = null_labels(len(y), self.num_classes, x.device)
        w = self.guidance
        if takes_guidance(self.model):
            return self.model(x, t, y=null if w == 0.0 else y, guidance=torch.full_like(t, w), **cond)
        inside = None if self.interval is None else (t >= self.interval[0]) & (t <= self.interval[1])
        if w == 1.0 or (inside is not None and not bool(inside.any())):
            return self.model(x, t, y=y, **cond)
        if w == 0.0 and inside is None:
            return self.model(x, t, y=null, **cond)
        both = {k: torch.cat([v, v]) if isinstance(v, Tensor) else v for k, v in cond.items()}  # (joint=True passes as is)
        out = self.model(torch.cat([x, x]), torch.cat([t, t]), y=torch.cat([y, null]), **both)
        v_cond, v_uncond = out.chunk(2)
        if inside is not None:  # w = 1 outside the interval
            w = torch.where(inside, w, 1.0).to(v_cond.dtype).reshape(-1, *([1] * (x.dim() - 1)))
        return rescale_guidance(x, t, v_uncond + w * (v_cond - v_uncond), v_cond, self.rescale)


class RowGuidedVelocity:
    """A class-conditional model guided row by row: v(x, t, y, guidance) for x: (B, *D), t, y,
    guidance: (B,). Labelled rows get v_null + w (v_y - v_null) with their own w inside
    interval = (lo, hi) and w = 1 outside it; null-class rows get v_null. One pass of B outside
    the interval, of B + (labelled rows) inside it."""

    def __init__(self, model: Callable[..., Tensor], num_classes: int, interval: tuple[float, float] = (0.0, 1.0)):
        self.model, self.num_classes, self.interval = model, num_classes, interval

    def __call__(self, x: Tensor, t: Tensor, y: Tensor, guidance: Tensor) -> Tensor:
        guided = (y < self.num_classes) & (t >= self.interval[0]) & (t <= self.interval[1]) & (guidance != 1.0)
        if not bool(guided.any()):
            return self.model(x, t, y=y)
        null = torch.full_like(y[guided], self.num_classes)
        out = self.model(torch.cat([x, x[guided]]), torch.cat([t, t[guided]]), y=torch.cat([y, null]))
        v, v_null = out[: len(x)], out[len(x) :]
        w = guidance[guided].to(v.dtype).reshape(-1, *([1] * (x.dim() - 1)))
        return v.index_put((guided.nonzero().squeeze(1),), v_null + w * (v[guided] - v_null))


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


__all__ = ["GuidedVelocity", "RowGuidedVelocity", "rescale_guidance", "takes_guidance", "apply_label_drop", "drop_labels", "label_drop_mask", "null_labels", "check_labels"]
