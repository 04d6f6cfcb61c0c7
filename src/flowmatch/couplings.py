"""Couplings: how a batch of source samples x0 is paired with a batch of data samples x1.

- independent: pairs as drawn, (x0, x1) ~ p0 x p1.
- ot: exact minibatch optimal transport with uniform weights, i.e. the permutation pi that
  minimises sum_i |x0_i - x1_pi(i)|^2 (scipy's linear_sum_assignment or POT's network simplex),
  over the whole batch or within consecutive blocks of `block` rows (exact OT of smaller
  minibatches, far cheaper: the solvers scale like m^2 to m^3).
- sinkhorn: entropic OT; each x0_i takes a partner drawn from row i of the Sinkhorn plan (POT).
- unbalanced: entropic OT whose marginals are only kept up to a KL penalty `reg_m` (POT's
  `sinkhorn_unbalanced`); partial: exact OT of a fraction `mass` of the mass (POT's
  `partial_wasserstein`). Both leave outliers (far from everything on the other side) with little
  or no mass: x0_i draws its partner from row i of the plan, and the pair's loss weight is row i's
  mass (mean 1 over the batch; 0 for a source point the plan leaves out).

Conditions (condition-aware couplings, `aware=True`): row i of the batch is drawn for the
condition of x1_i (its class label y_i, or its continuous conditions c_i), and a condition
travels with its x1. With labels, x0_i is paired only with data of class y_i: the coupling is
solved within each class on its own (so a class-conditional flow never learns paths its label
contradicts). With continuous conditions, the cost becomes |x0_i - x1_j|^2 + w |c_i - c_j|^2
(w = `condition_weight`), which moves a source point to data of another condition only when
that pays. `aware=False` pairs by the points alone (plain OT).

On a manifold, `GeodesicCoupling` is exact minibatch OT with the squared geodesic distance as
the cost (`geodesic_ot_permutation`).

Every coupling keeps x0 as drawn and returns a `Pairing`: the index into x1 (and its labels
and conditions) for each x0, and the pairs' loss weights where the coupling has them.
References: Tong et al., "Improving and generalizing flow-based generative models with minibatch
optimal transport" (2023); Pooladian et al., "Multisample Flow Matching" (2023); Kerrigan et al.,
"Dynamic conditional optimal transport through simulation-free flows" (2024, the condition-
weighted cost); Eyring et al., "Unbalancedness in neural Monge maps improves unpaired domain
translation" (2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import Manifold
from flowmatch.options import check_options, option

COUPLINGS = ("independent", "ot", "sinkhorn", "unbalanced", "partial")
# `sb` (Schrödinger bridge) is sinkhorn on the raw squared distance with reg = 2 sigma^2 of the
# bridge path; it is a training option only, built from the path's sigma (CouplingConfig.build).
COUPLING_OPTIONS = (*COUPLINGS, "sb")
# `component`: with a fitted mixture source (`--source mixture`), x0 is drawn from the component
# of the mixture that explains x1 (flowmatch.data.MixtureSource.sample_paired); the trainer draws
# it, and the batch is otherwise independent.
SOURCE_COUPLINGS = ("component",)


@dataclass(frozen=True)
class Pairing:
    """index: (B,) position in x1 of each x0's partner; weight: (B,) loss weight of each pair
    (mean 1), or None where every pair counts the same."""

    index: Tensor
    weight: Tensor | None = None


def _rows(x: Tensor) -> np.ndarray:
    """(B, *D) -> (B, prod D) float64 numpy, one conversion (this may run on a worker thread)."""
    return x.detach().reshape(x.shape[0], -1).double().cpu().numpy()


def _assignment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(m,) exact-OT partner index into b: (m, d) for each row of a: (m, d), float64."""
    m = a.shape[0]
    # Measured on moons vs Gaussian batches (one core): scipy's shortest augmenting path takes
    # 0.3 / 1.7 / 10 ms at m = 64 / 128 / 256, POT's network simplex 0.5 / 1.9 / 7.8 ms; both
    # release the GIL, so the solve overlaps the training step when run in the batch pipeline.
    if m <= 128:
        from scipy.optimize import linear_sum_assignment

        # -<x0, x1> differs from |x0 - x1|^2 by terms constant over permutations: same optimum
        rows, cols = linear_sum_assignment(a @ b.T, maximize=True)
        perm = np.empty(m, dtype=np.int64)
        perm[rows] = cols
        return perm
    import ot  # POT: imported only where OT is used

    # With equal uniform weights the simplex's optimal vertex is a permutation matrix / m (the
    # transport polytope's vertices are integral), so each row has a single non-zero entry.
    plan = ot.emd(np.full(m, 1.0 / m), np.full(m, 1.0 / m), _sq_cost(a, b), check_marginals=False)
    return plan.argmax(axis=1)


def _sq_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(m, n) squared Euclidean distances between the rows of a: (m, d) and b: (n, d)."""
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def _exact(a: np.ndarray, b: np.ndarray, rows: np.ndarray, block: int) -> np.ndarray:
    """Exact OT of a[rows] against b[rows] in blocks of `block` rows -> partner positions (global)."""
    size = len(rows) if block <= 0 else block
    return np.concatenate([r[_assignment(a[r], b[r])] for r in (rows[lo : lo + size] for lo in range(0, len(rows), size))])


def _plan(kind: str, a: np.ndarray, b: np.ndarray, reg: float, relative: bool, reg_m: float, mass: float) -> np.ndarray:
    """(m, m) transport plan of sinkhorn, unbalanced or partial OT between the rows of a and b."""
    import ot  # POT: imported only where these couplings are used

    cost = _sq_cost(a, b)
    m = len(a)
    unit = np.full(m, 1.0 / m)
    scale = max(float(cost.mean()), 1e-12)
    if kind == "partial":
        return ot.partial.partial_wasserstein(unit, unit, cost / scale, m=mass)
    if relative:  # `reg` is relative to the mean cost, so that it is unitless across data scales
        cost = cost / scale
        rel = reg
    else:
        rel = reg / scale
    # Small regularisations underflow exp(-cost/reg): switch to the stabilised (log-absorbing)
    # iterations there. Measured on a 256-point 8gaussians-moons batch at reg 0.01 of the mean
    # cost: 54 ms (marginals within 3e-5 relative), against 2.4 s for POT's log-domain method.
    if kind == "unbalanced":
        method = "sinkhorn_stabilized" if rel < 0.02 else "sinkhorn"
        return ot.unbalanced.sinkhorn_unbalanced(unit, unit, cost, reg, reg_m, method=method, numItermax=5000)
    if rel < 0.02:
        return ot.sinkhorn(unit, unit, cost, reg, method="sinkhorn_stabilized", numItermax=5000, stopThr=1e-6)
    return ot.sinkhorn(unit, unit, cost, reg, method="sinkhorn", numItermax=5000)


def _draw_from_rows(plan: np.ndarray, generator: torch.Generator) -> Tensor:
    """(m,) index j_i ~ plan[i, :] / sum(plan[i, :]) for every row i."""
    p = torch.from_numpy(np.nan_to_num(plan)).clamp_min(0) + 1e-30
    return torch.multinomial(p, 1, generator=generator).squeeze(1)


def _check_sizes(x0: Tensor, x1: Tensor) -> None:
    if x0.shape[0] != x1.shape[0]:
        raise FlowmatchError(f"a coupling needs equal batch sizes, got {x0.shape[0]} and {x1.shape[0]}")


@dataclass(frozen=True)
class Coupling:
    """A coupling by name; `couple(x0, x1, generator, y=, c=)` returns a `Pairing` (index, weights).

    reg: entropic regularisation (sinkhorn, unbalanced), relative to the mean cost unless
    relative=False; block: exact-OT block size (0: the whole batch); aware: solve within classes
    and add condition_weight |c_i - c_j|^2 to the cost; reg_m: unbalanced's marginal penalty;
    mass: the fraction of mass partial OT moves.
    """

    kind: str = "independent"
    reg: float = 0.05
    block: int = 0
    aware: bool = True
    condition_weight: float = 1.0
    reg_m: float = 1.0
    mass: float = 0.9
    relative: bool = True

    def __post_init__(self):
        if self.kind not in COUPLINGS:
            raise FlowmatchError(f"unknown coupling {self.kind!r}; choose one of {', '.join(COUPLINGS)}")
        if not self.reg > 0:
            raise FlowmatchError(f"sinkhorn regularisation must be > 0, got {self.reg}")
        if self.block < 0:
            raise FlowmatchError(f"ot block must be >= 0 (0: the whole batch), got {self.block}")
        if not (self.condition_weight >= 0 and math.isfinite(self.condition_weight)):
            raise FlowmatchError(f"condition weight must be a finite number >= 0, got {self.condition_weight}")
        if not self.reg_m > 0:
            raise FlowmatchError(f"unbalanced marginal penalty reg_m must be > 0, got {self.reg_m}")
        if not 0 < self.mass <= 1:
            raise FlowmatchError(f"partial OT mass must be in (0, 1], got {self.mass}")

    @property
    def weighted(self) -> bool:
        """Whether the pairs carry loss weights (unbalanced and partial OT)."""
        return self.kind in ("unbalanced", "partial")

    def couple(self, x0: Tensor, x1: Tensor, generator: torch.Generator | None = None, *, y: Tensor | None = None, c: Tensor | None = None) -> Pairing:
        """Pair each x0[i] with x1[index[i]]; y: (B,) labels and c: (B, K) conditions of x1 as drawn."""
        n = x1.shape[0]
        if self.kind == "independent":
            return Pairing(torch.arange(n, device=x1.device))
        _check_sizes(x0, x1)
        a, b = _rows(x0), _rows(x1)
        if self.aware and c is not None and self.condition_weight > 0:  # x0_i was drawn for c_i
            cc = math.sqrt(self.condition_weight) * _rows(c)
            a, b = np.concatenate([a, cc], 1), np.concatenate([b, cc], 1)
        groups = [np.arange(n)]
        if self.aware and y is not None:  # x0_i was drawn for class y_i: pair within each class
            labels = y.detach().cpu().numpy()
            groups = [np.flatnonzero(labels == k) for k in np.unique(labels)]
        if self.kind == "ot":
            index = np.empty(n, dtype=np.int64)
            index[np.concatenate(groups)] = np.concatenate([_exact(a, b, r, self.block) for r in groups])
            return Pairing(torch.from_numpy(index).to(x1.device))
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        index = torch.empty(n, dtype=torch.long)
        weight = torch.ones(n, dtype=torch.float32)
        for r in groups:
            plan = _plan(self.kind, a[r], b[r], self.reg, self.relative, self.reg_m, self.mass)
            rt = torch.from_numpy(r)
            index[rt] = rt[_draw_from_rows(plan, generator)]
            mass = np.nan_to_num(plan).clip(min=0).sum(1)
            weight[rt] = torch.from_numpy(mass / max(mass.mean(), 1e-30)).float()
        return Pairing(index.to(x1.device), weight.to(x1.device) if self.weighted else None)

    def pair(self, x0: Tensor, x1: Tensor, generator: torch.Generator | None = None, *, y: Tensor | None = None, c: Tensor | None = None) -> Tensor:
        """(B,) indices idx such that (x0[i], x1[idx[i]]) are the coupled pairs (weights: `couple`)."""
        return self.couple(x0, x1, generator, y=y, c=c).index


@dataclass(frozen=True)
class CouplingConfig:
    """The coupling of a run, as options."""

    coupling: str = option(
        "independent",
        "pairing of source and data in a batch (sb: entropic OT with reg 2 bridge-sigma^2, for --path bridge; component: x0 drawn from the --source mixture component of x1)",
        choices=(*COUPLING_OPTIONS, *SOURCE_COUPLINGS),
    )
    sinkhorn_reg: float = option(0.05, "entropic regularisation of --coupling sinkhorn and unbalanced (relative to the mean cost)", min=0.0, min_open=True)
    # 1,024 rows (C2OT's OT batch: with batches of 256, a pool of 4 batches solved at once). The
    # trade-off (docs/benchmarks/fewstep_points.md): on C2OT's class-conditional 8gaussians ->
    # moons one Euler step scores W2^2 0.0465 (median of 3 seeds) against 0.073 with blocks of
    # 64; a step costs 36 ms against 3.0 ms on unlabelled 2D points (one 1,024-point solve per 4
    # steps, batch 256, one thread), less with labels (a solve per class). The few-step recipe's
    # base and image data keep blocks of 64 (recipes.few_step.RECIPE_OT_BLOCK, the `images` preset).
    ot_block: int = option(
        1024,
        "--coupling ot: exact OT within blocks of this many rows of each batch (0: the whole batch); a block larger than the batch is a pool of that many rows (in whole batches), solved at once and trained on as consecutive batches",
        min=0,
    )
    condition_aware: bool = option(True, "pair as a conditional model needs: within each class (labels), and with the condition distance added to the cost (conditions c)", flag="--no-condition-aware")
    condition_weight: float = option(1.0, "data with conditions c: the weight w of w |c0 - c1|^2 added to the squared distance of the coupling's cost", min=0.0)
    unbalanced_reg_m: float = option(1.0, "--coupling unbalanced: KL penalty on the marginals (relative to the mean cost; large: balanced)", min=0.0, min_open=True)
    partial_mass: float = option(0.9, "--coupling partial: the fraction of the mass that is transported", min=0.0, max=1.0, min_open=True)

    def __post_init__(self):
        check_options(self)

    def build(self, bridge_sigma: float | None = None) -> Coupling:
        """The coupling; `sb` needs the bridge path's sigma (entropic OT, raw cost, reg 2 sigma^2)."""
        common = {"block": self.ot_block, "aware": self.condition_aware, "condition_weight": self.condition_weight, "reg_m": self.unbalanced_reg_m, "mass": self.partial_mass}
        if self.coupling in SOURCE_COUPLINGS:  # the source draws x0 for each x1 (the trainer asks it)
            return Coupling("independent", self.sinkhorn_reg, **common)
        if self.coupling == "sb":
            if bridge_sigma is None:
                raise FlowmatchError("--coupling sb is the Schrödinger bridge's coupling: it needs --path bridge")
            return Coupling("sinkhorn", reg=2 * bridge_sigma**2, relative=False, **common)
        return Coupling(self.coupling, self.sinkhorn_reg, **common)


# -- on a manifold: exact OT with the squared geodesic distance as the cost (Chen and Lipman, 2024) --
def geodesic_ot_permutation(manifold: Manifold, x0: Tensor, x1: Tensor) -> Tensor:
    """(B,) index pi with x1[pi] the exact-OT partner of each x0 under the cost d(x0_i, x1_j)^2."""
    cost = manifold.pairwise_dist(x0.detach().double(), x1.detach().double()).pow(2).cpu().numpy()
    m = len(cost)
    if m <= 128:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        perm = np.empty(m, dtype=np.int64)
        perm[rows] = cols
    else:
        import ot  # POT: imported only where OT is used

        perm = ot.emd(np.full(m, 1.0 / m), np.full(m, 1.0 / m), cost, check_marginals=False).argmax(axis=1)
    return torch.from_numpy(perm).to(x1.device)


@dataclass(frozen=True)
class GeodesicCoupling:
    """Exact minibatch OT with the geodesic cost, in blocks of `block` rows (0: the whole batch);
    the trainer's `Coupling` surface (`kind`, `couple`, `pair`) for runs on a manifold."""

    manifold: Manifold
    block: int = 0
    kind: str = "ot"

    def couple(self, x0: Tensor, x1: Tensor, generator: torch.Generator | None = None, **cond: Tensor) -> Pairing:
        return Pairing(self.pair(x0, x1, **cond))

    def pair(self, x0: Tensor, x1: Tensor, generator: torch.Generator | None = None, **cond: Tensor) -> Tensor:
        """(B,) index into x1 of each x0's partner (conditions, if any, travel with x1 and are not in the cost)."""
        n = len(x0)
        size = n if self.block <= 0 else self.block
        return torch.cat([lo + geodesic_ot_permutation(self.manifold, x0[lo : lo + size], x1[lo : lo + size]) for lo in range(0, n, size)])
