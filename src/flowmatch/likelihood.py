"""Exact log-likelihoods of a flow by the instantaneous change of variables.

A flow dx/dt = v(x, t) that carries the source p0 (t = 0) to the model p1 (t = 1) gives

    log p1(x1) = log p0(x0) - ∫_0^1 div v(x_t, t) dt,

with x_t solved backwards from x(1) = x1 to x0 = x(0). We integrate the augmented state
(x, a) with da/dt = div v(x, t), a(1) = 0, so a(0) = -∫_0^1 div v dt and
log p1(x1) = log p0(x(0)) + a(0). The divergence is exact (one vector-Jacobian product per
dimension) or Hutchinson's estimate u^T (dv/dx) u with probes u drawn once per solve, which is
unbiased because x_t itself does not depend on u.

On a manifold (`manifold_log_likelihood`) the same with the Riemannian divergence and the
manifold solvers, densities w.r.t. the volume measure; it shares the probes and the result of
the flat case, which is why it lives here and this module is long.

Reference: Grathwohl et al., "FFJORD: Free-form Continuous Dynamics for Scalable Reversible
Generative Models" (2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import Euclidean, Manifold, Product
from flowmatch.solvers import ADAPTIVE, FIXED_STEP, MANIFOLD_SOLVERS, solve, solve_on_manifold

Velocity = Callable[..., Tensor]
PROBE_KINDS = ("rademacher", "gaussian")
# Exact traces cost one backward pass per dimension; above this, Hutchinson is the default.
EXACT_MAX_DIM = 32


@dataclass(frozen=True)
class LikelihoodResult:
    """log_likelihood: (N,) log p1(x) in nats per sample (for images, of the dequantised pixels);
    nll: mean of -log_likelihood; nll_se: its standard error; nfe: evaluations of v per solve
    (the most over batches of `batch_size`); bpd: bits per dimension (images) or None; x0: (N, *D) the latents."""

    log_likelihood: Tensor
    nll: float
    nll_se: float
    nfe: int
    bpd: float | None = None
    x0: Tensor | None = None


def gaussian_log_density(x: Tensor, scale: float = 1.0) -> Tensor:
    """log N(x; 0, scale^2 I) per sample: x: (B, *D) -> (B,)."""
    d = x[0].numel()
    sq = x.flatten(1).pow(2).sum(1)
    return -0.5 * sq / scale**2 - 0.5 * d * math.log(2 * math.pi * scale**2)


def make_probes(shape: tuple[int, ...], k: int, kind: str, generator: torch.Generator | None, dtype, device) -> Tensor:
    """(k, *shape) probe vectors with E[u u^T] = I: Rademacher (±1) or standard Gaussian."""
    if kind not in PROBE_KINDS:
        raise FlowmatchError(f"unknown probe kind {kind!r}; choose one of {', '.join(PROBE_KINDS)}")
    if k < 1:
        raise FlowmatchError(f"number of probes must be >= 1, got {k}")
    if kind == "gaussian":
        u = torch.randn((k, *shape), generator=generator, dtype=torch.float64)
    else:
        u = torch.randint(0, 2, (k, *shape), generator=generator).to(torch.float64) * 2 - 1
    return u.to(device=device, dtype=dtype)


def divergence_exact(out: Tensor, x: Tensor, create_graph: bool = False) -> Tensor:
    """(B,) trace of dv/dx by one vector-Jacobian product per dimension; out = v(x): (B, *D)."""
    flat = out.flatten(1)
    div = torch.zeros(flat.shape[0], dtype=out.dtype, device=out.device)
    for i in range(flat.shape[1]):
        (g,) = torch.autograd.grad(flat[:, i].sum(), x, retain_graph=True, create_graph=create_graph)
        div = div + g.flatten(1)[:, i]
    return div


def divergence_hutchinson(out: Tensor, x: Tensor, probes: Tensor, create_graph: bool = False) -> Tensor:
    """(B,) mean over probes u: (K, B, *D) of u^T (dv/dx) u, one vector-Jacobian product each.

    For K > 1 pass x and out of K stacked copies of the batch (see `velocity_and_divergence`),
    so that all K products come from one backward pass.
    """
    k = probes.shape[0]
    flat_u = probes.reshape(out.shape)
    (g,) = torch.autograd.grad(out, x, flat_u, retain_graph=True, create_graph=create_graph)
    return (g * flat_u).flatten(1).sum(1).reshape(k, -1).mean(0)


def velocity_and_divergence(velocity: Velocity, x: Tensor, t: Tensor, probes: Tensor | None, create_graph: bool = False, **cond) -> tuple[Tensor, Tensor, Tensor]:
    """(v(x, t): (B, *D), div v: (B,), x with grad) with the exact trace (probes None) or
    Hutchinson's estimate over probes: (K, B, *D), evaluated on K stacked copies of x."""
    if probes is None:
        xg = x.detach().requires_grad_(True)
        out = velocity(xg, t, **cond)
        return out, divergence_exact(out, xg, create_graph), xg
    k, b = probes.shape[0], x.shape[0]
    xg = x.detach().repeat(k, *([1] * (x.ndim - 1))).requires_grad_(True)
    rep = {key: val.repeat(k, *([1] * (val.ndim - 1))) if isinstance(val, Tensor) else val for key, val in cond.items()}
    out = velocity(xg, t.repeat(k), **rep)
    return out[:b], divergence_hutchinson(out, xg, probes, create_graph), xg


class _Augmented:
    """The right-hand side of the augmented ODE on z = [x.flatten(1), a]: (B, D + 1)."""

    def __init__(self, velocity: Velocity, shape: tuple[int, ...], probes: Tensor | None, cond: Mapping[str, object]):
        self.velocity, self.shape, self.probes, self.cond = velocity, shape, probes, dict(cond)

    def __call__(self, z: Tensor, t: Tensor) -> Tensor:
        with torch.enable_grad():
            x = z[:, :-1].reshape(-1, *self.shape)
            out, div, _ = velocity_and_divergence(self.velocity, x, t, self.probes, **self.cond)
        return torch.cat([out.detach().flatten(1), div.detach()[:, None]], dim=1)


def log_likelihood(
    velocity: Velocity,
    x1: Tensor,
    *,
    source_scale: float = 1.0,
    exact: bool | None = None,
    probes: int = 1,
    probe_kind: str = "rademacher",
    method: str = "dopri5",
    steps: int = 32,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    batch_size: int = 1024,
    seed: int = 0,
    cond: Mapping[str, Tensor] | None = None,
    on_batch: Callable[[int], object] | None = None,
) -> LikelihoodResult:
    """log p1(x1) under the flow `velocity` from the source N(0, source_scale^2 I); x1: (N, *D).

    exact=None picks the exact trace up to EXACT_MAX_DIM dimensions, Hutchinson with `probes`
    probes of `probe_kind` above. Fixed-step methods take `steps` steps; adaptive ones use
    atol/rtol. Probes are drawn once per batch from `seed`. on_batch(k) is told the size k of
    each batch scored (a progress bar's hook).
    """
    if method not in FIXED_STEP and method not in ADAPTIVE:
        raise FlowmatchError(f"unknown solver {method!r}; choose one of {', '.join(tuple(FIXED_STEP) + ADAPTIVE)}")
    if x1.ndim < 2 or len(x1) == 0:
        raise FlowmatchError(f"likelihood needs a batch of shape (N, *D), got {tuple(x1.shape)}")
    shape = tuple(x1.shape[1:])
    dim = math.prod(shape)
    if exact is None:
        exact = dim <= EXACT_MAX_DIM
    generator = torch.Generator().manual_seed(seed)
    cond = dict(cond or {})
    logps, latents, nfe = [], [], 0
    for start in range(0, len(x1), batch_size):
        xb = x1[start : start + batch_size]
        cb = {k: v[start : start + batch_size] for k, v in cond.items()}
        u = None if exact else make_probes(tuple(xb.shape), probes, probe_kind, generator, xb.dtype, xb.device)
        rhs = _Augmented(velocity, shape, u, cb)
        z1 = torch.cat([xb.detach().flatten(1), xb.new_zeros(len(xb), 1)], dim=1)
        with torch.no_grad():
            res = solve(rhs, z1, method=method, steps=steps, t0=1.0, t1=0.0, atol=atol, rtol=rtol)
        x0 = res.x[:, :-1].reshape(-1, *shape)
        logps.append(gaussian_log_density(x0, source_scale) + res.x[:, -1])
        latents.append(x0)
        nfe = max(nfe, res.nfe)
        if on_batch is not None:
            on_batch(len(xb))
    logp = torch.cat(logps)
    return _result(logp, nfe, torch.cat(latents))


def _result(logp: Tensor, nfe: int, x0: Tensor | None, bpd_dims: int | None = None) -> LikelihoodResult:
    nll = -logp.double()
    n = len(nll)
    se = float(nll.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan")
    bpd = float(nll.mean()) / (bpd_dims * math.log(2)) if bpd_dims else None
    return LikelihoodResult(logp, float(nll.mean()), se, nfe, bpd, x0)


# -- images ---------------------------------------------------------------------------------
# Pixels p in {0, ..., 255} are dequantised to y = p + u, u ~ U[0, 1)^D, and mapped to the
# model's space by x = y / 127.5 - 1 (so 0 -> -1 and 255 -> 1). The density of y is
# p_x(x) * (1/127.5)^D; -log2 of it per dimension is the bits-per-dimension upper bound on the
# discrete pixels' code length (Theis et al., 2016).
PIXEL_SCALE = 1 / 127.5


def dequantize(pixels: Tensor, generator: torch.Generator) -> Tensor:
    """(N, C, H, W) integer pixel values in [0, 255] -> x = (p + u) / 127.5 - 1, u ~ U[0, 1)."""
    p = pixels.double()
    if p.min() < 0 or p.max() > 255:
        raise FlowmatchError(f"pixel values must lie in [0, 255], got [{float(p.min())}, {float(p.max())}]")
    u = torch.rand(p.shape, generator=generator, dtype=torch.float64).to(p.device)
    return (torch.floor(p) + u) * PIXEL_SCALE - 1


def to_pixels(x: Tensor) -> Tensor:
    """Model-space images x in [-1, 1] back to integer pixel values (x + 1) * 127.5, rounded."""
    return ((x.double() + 1) / PIXEL_SCALE).round().clamp(0, 255)


def image_log_likelihood(velocity: Velocity, pixels: Tensor, *, seed: int = 0, **kwargs) -> LikelihoodResult:
    """log-likelihood (nats) of dequantised pixels (N, C, H, W) in [0, 255], and bits per dimension.

    bpd = -(log p_x(x) + D log(1/127.5)) / (D ln 2), D = C * H * W; other keywords go to
    `log_likelihood` (which defaults to Hutchinson for images).
    """
    if pixels.ndim != 4:
        raise FlowmatchError(f"images must have shape (N, C, H, W), got {tuple(pixels.shape)}")
    g = torch.Generator().manual_seed(seed + 1)
    x = dequantize(pixels, g).to(torch.get_default_dtype())
    res = log_likelihood(velocity, x, seed=seed, **kwargs)
    d = x[0].numel()
    logp = res.log_likelihood + d * math.log(PIXEL_SCALE)
    return _result(logp, res.nfe, res.x0, bpd_dims=d)


# -- on a manifold ---------------------------------------------------------------------------
# For M embedded with the coordinates' metric (the sphere in R^(d+1), the flat torus in angles),
# div_M v = tr(P J P), J = dv/dx the coordinates' Jacobian and P the projection onto the tangent
# space at x: exactly, the sum over coordinate vectors e_k of (P e_k)^T J (P e_k); or by
# Hutchinson, (P u)^T J (P u) with probes u drawn once per solve (E[P u u^T P] = P). Densities are
# w.r.t. the volume measure; the augmented state (x, a) lives on M x R and is stepped by the
# manifold solvers. Reference: Mathieu and Nickel, "Riemannian Continuous Normalizing Flows" (2020).


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


class _ManifoldAugmented:
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
    on_batch: Callable[[int], object] | None = None,
    source_log_prob: Callable[[Tensor], Tensor] | None = None,
) -> LikelihoodResult:
    """log p1(x1) (nats, w.r.t. the volume measure) under the flow `velocity` on `manifold` from its base distribution; x1: (N, n).

    exact=None: the exact divergence up to EXACT_MAX_DIM coordinates, Hutchinson above.
    source_log_prob: log p0 of the flow's source, (N, n) -> (N,); None: the manifold's uniform distribution.
    on_batch(k): called after each batch of k points (a progress bar).
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
            res = solve_on_manifold(augmented, _ManifoldAugmented(velocity, manifold, u, cb), z1, method=method, steps=steps, t0=1.0, t1=0.0)
        x0 = res.x[:, :-1]
        logps.append((manifold.base_log_density(x0) if source_log_prob is None else source_log_prob(x0)) + res.x[:, -1])
        latents.append(x0)
        nfe = max(nfe, res.nfe)
        if on_batch is not None:
            on_batch(len(xb))
    return _result(torch.cat(logps), nfe, torch.cat(latents))


__all__ = [
    "LikelihoodResult",
    "PROBE_KINDS",
    "divergence_exact",
    "divergence_hutchinson",
    "gaussian_log_density",
    "image_log_likelihood",
    "log_likelihood",
    "manifold_log_likelihood",
    "riemannian_divergence",
    "dequantize",
    "to_pixels",
]
