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
from flowmatch.likelihood import EXACT_MAX_DIM, divergence_exact, divergence_hutchinson, make_probes

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
            xg = x.detach().requires_grad_(True)
            out = self.velocity(xg, t, **cond)
            exact = self.exact if self.exact is not None else xg[0].numel() <= EXACT_MAX_DIM
            if exact:
                div = divergence_exact(out, xg, create_graph=True)
                self.vjps += xg[0].numel()
            else:
                u = make_probes(tuple(xg.shape), self.probes, "rademacher", self.generator, xg.dtype, xg.device)
                div = divergence_hutchinson(out, xg, u, create_graph=True)
                self.vjps += self.probes
            # Samples are independent, so the gradient of the summed divergence is per sample.
            (grad,) = torch.autograd.grad(-div.sum(), xg)
            self.vjps += 1
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return (out + self.scale * grad).detach()

    def cost(self) -> dict:
        """Calls, vector-Jacobian products per call beyond the forward pass, and seconds spent."""
        return {"calls": self.calls, "vjps_per_call": self.vjps / max(self.calls, 1), "seconds": round(self.seconds, 4)}


__all__ = ["DensityGuidedVelocity"]
