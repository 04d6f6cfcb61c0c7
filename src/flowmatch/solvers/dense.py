"""Dense output of a solved trajectory: the state at any time between the solver's grid points.

A fixed-step solve keeps the states x_k at its grid times t_k; with the velocities v_k = v(x_k, t_k)
there, the cubic Hermite interpolant on [t_k, t_{k+1}] (s = (t - t_k) / dt, dt = t_{k+1} - t_k)

    x(t) = (2s^3 - 3s^2 + 1) x_k + (s^3 - 2s^2 + s) dt v_k + (-2s^3 + 3s^2) x_{k+1} + (s^3 - s^2) dt v_{k+1}

matches both ends' states and slopes, and is exact for paths cubic in t (its error is O(dt^4)).
The flow-map distillation (`flowmatch.loss.flow_map_loss`) reads teacher paths at any t this way.
"""

from __future__ import annotations

import torch
from torch import Tensor


def hermite(states: Tensor, velocities: Tensor, times: Tensor, t: Tensor, index: Tensor | None = None) -> Tensor:
    """x(t) above for each path; states, velocities: (K+1, N, *D) at the increasing times (K+1,);
    t: (B,) in [times[0], times[-1]]; index: (B,) which of the N paths each row reads (default:
    row b reads path b, B = N) -> (B, *D), in the dtype of t."""
    times = times.to(t.dtype)
    index = torch.arange(len(t)) if index is None else index
    k = (torch.searchsorted(times, t.contiguous(), right=True) - 1).clamp(0, len(times) - 2)
    dt = times[k + 1] - times[k]
    shape = (-1,) + (1,) * (states.dim() - 2)
    s = ((t - times[k]) / dt).view(shape)
    dt = dt.view(shape)
    xa, xb = states[k, index].to(t.dtype), states[k + 1, index].to(t.dtype)
    va, vb = velocities[k, index].to(t.dtype), velocities[k + 1, index].to(t.dtype)
    s2, s3 = s * s, s * s * s
    return (2 * s3 - 3 * s2 + 1) * xa + (s3 - 2 * s2 + s) * dt * va + (-2 * s3 + 3 * s2) * xb + (s3 - s2) * dt * vb


__all__ = ["hermite"]
