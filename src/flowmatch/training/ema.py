"""Exponential moving average of a model's weights (what sampling uses by default)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """w_ema <- d_n w_ema + (1 - d_n) w, with d_n = min(decay, (1 + n) / (10 + n)) at update n.

    The short warm-up keeps the average from holding the random initial weights for thousands
    of steps.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self._tensors = None  # (model, EMA float tensors, model float tensors, integer buffer pairs)

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = self.decay_at(step)
        if self._tensors is None or self._tensors[0] is not model:
            # built once: walking the module tree every step cost more than the update itself
            params = list(zip(self.model.parameters(), model.parameters()))
            buffers = list(zip(self.model.buffers(), model.buffers()))
            floats = params + [(e, b) for e, b in buffers if e.dtype.is_floating_point]
            others = [(e, b) for e, b in buffers if not e.dtype.is_floating_point]
            self._tensors = (model, [e for e, _ in floats], [p.detach() for _, p in floats], others)
        _, ema_floats, model_floats, others = self._tensors
        torch._foreach_lerp_(ema_floats, model_floats, 1 - d)  # one fused call over all tensors
        for e, b in others:
            e.copy_(b)


__all__ = ["EMA"]
