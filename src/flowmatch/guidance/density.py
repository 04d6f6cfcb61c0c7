"""Density (mode-seeking) guidance: v(x, t) + lambda ∇x(-div v(x, t)).

Along a trajectory d/dt log p_t(x_t) = -div v(x_t, t) (the continuity equation), so moving
each sample up the gradient of -div v pushes it toward places where the log-density grows
along the flow. The divergence is exact (one vector-Jacobian product per dimension) or a
Hutchinson estimate; its gradient in x is a second backward pass through the first
(double backward), which is what the guidance costs on top of the plain velocity.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import EXACT_MAX_DIM, make_probes, velocity_and_divergence

Velocity = Callable[..., Tensor]


class DensityGuidedVelocity:
    """Wraps v(x, t, **cond) into v(x, t) + scale * ∇x(-div v(x, t)); x: (B, *D), t: (B,).

    exact=None: exact divergence up to EXACT_MAX_DIM dimensions, else Hutchinson with `probes`
    fresh Rademacher probes per call (drawn from `seed`). Counts its calls (`calls`), the
    vector-Jacobian products it spends (`vjps`) and its wall time (`seconds`).
    """

    def __init__(self, velocity: Velocity, scale: float, *, exact: bool | None = None, probes: int = 2, seed: int = 0):
        if not torch.isfinite(torch.tensor(float(scale))):
            raise FlowmatchError(f"density guidance must be a finite number, got {scale}")
        self.velocity, self.scale, self.exact, self.probes = velocity, float(scale), exact, probes
        self.generator = torch.Generator().manual_seed(seed)
        self.calls, self.vjps, self.seconds = 0, 0, 0.0

    def __call__(self, x: Tensor, t: Tensor, **cond) -> Tensor:
        start = time.perf_counter()
        with torch.enable_grad():
            exact = self.exact if self.exact is not None else x[0].numel() <= EXACT_MAX_DIM
            u = None if exact else make_probes(tuple(x.shape), self.probes, "rademacher", self.generator, x.dtype, x.device)
            out, div, xg = velocity_and_divergence(self.velocity, x, t, u, create_graph=True, **cond)
            self.vjps += x[0].numel() if exact else self.probes
            # Samples are independent, so the gradient of the summed divergence is per sample;
            # with K stacked probe copies of x, the gradient wrt x is the sum over the copies.
            (grad,) = torch.autograd.grad(-div.sum(), xg)
            grad = grad if exact else grad.reshape(self.probes, *x.shape).sum(0)
            self.vjps += 1
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return (out + self.scale * grad).detach()

    def cost(self) -> dict:
        """Calls, vector-Jacobian products per call beyond the forward pass, and seconds spent."""
        return {"calls": self.calls, "vjps_per_call": self.vjps / max(self.calls, 1), "seconds": round(self.seconds, 4)}


__all__ = ["DensityGuidedVelocity"]
