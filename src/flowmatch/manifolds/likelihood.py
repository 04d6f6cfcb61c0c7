"""Log-likelihoods on a manifold by the change of variables with the Riemannian divergence.

For a flow dx/dt = v(x, t) on M carrying the base density p0 to p1 (densities w.r.t. the volume
measure),  log p1(x1) = log p0(x0) - int_0^1 div_M v(x_t, t) dt,  solved backwards from x1.
For M embedded with the coordinates' metric (the sphere in R^(d+1), the flat torus in angles),
div_M v = tr(P J P), J = dv/dx the coordinates' Jacobian and P the projection onto the tangent
space at x: exactly, as the sum over coordinate vectors e_k of (P e_k)^T J (P e_k); or by
Hutchinson, (P u)^T J (P u) with probes u drawn once per solve (E[P u u^T P] = P).
The augmented state (x, a) lives on M x R and is stepped by the manifold solvers.

Reference: Mathieu and Nickel, "Riemannian Continuous Normalizing Flows" (2020); Chen and
Lipman (2024), Appendix (likelihoods by the divergence on the manifold).
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.likelihood import EXACT_MAX_DIM, LikelihoodResult, _result, make_probes
from flowmatch.manifolds.base import Manifold
from flowmatch.manifolds.euclidean import Euclidean
from flowmatch.manifolds.product import Product
from flowmatch.manifolds.solvers import MANIFOLD_SOLVERS, solve_on_manifold
from flowmatch.solvers import Velocity


def riemannian_divergence(velocity: Velocity, manifold: Manifold, x: Tensor, t: Tensor, probes: Tensor | None = None, **cond) -> tuple[Tensor, Tensor]:
    """(v(x, t): (B, n) tangent, div_M v: (B,)); exact when probes is None, else Hutchinson over probes: (K, B, n)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        out = manifold.proju(xg, velocity(xg, t, **cond))
        if probes is None:
            eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
            dirs = [manifold.proju(xg, eye[k].expand_as(xg)).detach() for k in range(x.shape[1])]
        else:
            dirs = [manifold.proju(xg, u).detach() for u in probes]
        div = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for d in dirs:
            (g,) = torch.autograd.grad(out, xg, d, retain_graph=True)
            div = div + (g * d).sum(-1)
    if probes is not None:
        div = div / len(dirs)
    return out.detach(), div.detach()


class _Augmented:
    """The right-hand side on M x R: (v(x, t), div_M v(x, t)) for z = [x, a]: (B, n + 1)."""

    def __init__(self, velocity: Velocity, manifold: Manifold, probes: Tensor | None, cond: Mapping[str, Tensor]):
        self.velocity, self.manifold, self.probes, self.cond = velocity, manifold, probes, dict(cond)

    def __call__(self, z: Tensor, t: Tensor) -> Tensor:
        out, div = riemannian_divergence(self.velocity, self.manifold, z[:, :-1], t, self.probes, **self.cond)
        return torch.cat([out, div[:, None]], dim=1)


def manifold_log_likelihood(
    manifold: Manifold,
    velocity: Velocity,
    x1: Tensor,
    *,
    exact: bool | None = None,
    probes: int = 1,
    probe_kind: str = "rademacher",
    method: str = "midpoint",
    steps: int = 100,
    batch_size: int = 1024,
    seed: int = 0,
    cond: Mapping[str, Tensor] | None = None,
) -> LikelihoodResult:
    """log p1(x1) (nats, w.r.t. the volume measure) under the flow `velocity` on `manifold` from its base distribution; x1: (N, n).

    exact=None: the exact divergence up to EXACT_MAX_DIM coordinates, Hutchinson above.
    """
    if method not in MANIFOLD_SOLVERS:
        raise FlowmatchError(f"unknown manifold solver {method!r}; choose one of {', '.join(MANIFOLD_SOLVERS)}")
    if x1.ndim != 2 or x1.shape[1] != manifold.ambient_dim or len(x1) == 0:
        raise FlowmatchError(f"likelihood on {manifold.name} needs points of shape (N, {manifold.ambient_dim}), got {tuple(x1.shape)}")
    if exact is None:
        exact = manifold.ambient_dim <= EXACT_MAX_DIM
    augmented = Product([manifold, Euclidean(1)])
    generator = torch.Generator().manual_seed(seed)
    cond = dict(cond or {})
    logps, latents, nfe = [], [], 0
    for start in range(0, len(x1), batch_size):
        xb = manifold.projx(x1[start : start + batch_size].detach())
        cb = {k: v[start : start + batch_size] for k, v in cond.items()}
        u = None if exact else make_probes(tuple(xb.shape), probes, probe_kind, generator, xb.dtype, xb.device)
        z1 = torch.cat([xb, xb.new_zeros(len(xb), 1)], dim=1)
        with torch.no_grad():
            res = solve_on_manifold(augmented, _Augmented(velocity, manifold, u, cb), z1, method=method, steps=steps, t0=1.0, t1=0.0)
        x0 = res.x[:, :-1]
        logps.append(manifold.base_log_density(x0) + res.x[:, -1])
        latents.append(x0)
        nfe = max(nfe, res.nfe)
    return _result(torch.cat(logps), nfe, torch.cat(latents))
