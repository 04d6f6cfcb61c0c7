"""Prediction targets: what a network is trained to predict, and its velocity for sampling.

With x_t = alpha_t x1 + sigma_t x0 and v = alpha_t' x1 + sigma_t' x0, a network may predict the
velocity v, the data x1 or the source sample x0 ('epsilon', the noise for a Gaussian source);
any one follows from x_t and another (`AffinePath.x1_to_velocity`, `x0_to_velocity`). The
conversions divide by sigma_t (x1) or alpha_t (epsilon), which vanish at t = 1 and t = 0 on the
usual paths: a converted network is evaluated, and converted, at t clamped to [T_CLAMP, 1 - T_CLAMP]
(for epsilon this is more than a guard: at t = 0, x_t = x0 carries nothing about x1, so the
velocity is in the O(t) part of the prediction, which the division amplifies by 1 / t).
"""

from __future__ import annotations

from torch import Tensor, nn

from flowmatch.paths.affine import AffinePath, PathSample

TARGETS = ("velocity", "x1", "epsilon")
T_CLAMP = 0.05  # measured on moons (docs/benchmarks/index.md, "Defaults and the figures behind them"): 1e-3 and 1e-2 are far worse


def regression_target(ps: PathSample, target: str) -> Tensor:
    """What the network regresses on for a training pair: the velocity, x1, or x0 (epsilon)."""
    return {"velocity": ps.velocity, "x1": ps.x1, "epsilon": ps.x0}[target]


def prediction_to_velocity(path: AffinePath, prediction: Tensor, target: str, x_t: Tensor, t: Tensor) -> Tensor:
    """The velocity that a prediction of `target` at (x_t, t) stands for; t: (B,)."""
    if target == "velocity":
        return prediction
    tc = t.clamp(T_CLAMP, 1 - T_CLAMP)
    if target == "x1":
        return path.x1_to_velocity(prediction, x_t, tc)
    return path.x0_to_velocity(prediction, x_t, tc)


class PredictionVelocity(nn.Module):
    """v(x, t, **cond) of a network trained to predict `target` on `path` (sampling wraps it in this);
    network and conversion are both evaluated at t clamped to [T_CLAMP, 1 - T_CLAMP]."""

    def __init__(self, net: nn.Module, path: AffinePath, target: str):
        super().__init__()
        self.net, self.path, self.target = net, path, target

    def forward(self, x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        if self.target == "velocity":
            return self.net(x, t, **cond)
        tc = t.clamp(T_CLAMP, 1 - T_CLAMP)
        return prediction_to_velocity(self.path, self.net(x, tc, **cond), self.target, x, tc)
