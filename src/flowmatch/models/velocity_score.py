"""A velocity network and a score network side by side (Schrödinger-bridge runs).

The module's `forward` is the velocity, so every ODE tool (solvers, likelihood, guidance) uses it
unchanged; `score(x, t, **cond)` is the second network's estimate of grad_x log p_t(x). Training
calls `forward(..., joint=True)`, which returns both stacked as (B, 2, *D) in one call (one call
of the module is what DistributedDataParallel synchronises).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class VelocityAndScore(nn.Module):
    """velocity_net(x, t, **cond) -> v (B, *D); score_net(x, t, **cond) -> grad log p_t (B, *D)."""

    def __init__(self, velocity_net: nn.Module, score_net: nn.Module):
        super().__init__()
        self.velocity_net, self.score_net = velocity_net, score_net

    def forward(self, x: Tensor, t: Tensor, joint: bool = False, **cond: Tensor) -> Tensor:
        """The velocity (B, *D); with joint=True, velocity and score stacked as (B, 2, *D)."""
        v = self.velocity_net(x, t, **cond)
        return torch.stack([v, self.score_net(x, t, **cond)], dim=1) if joint else v

    def score(self, x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        return self.score_net(x, t, **cond)
