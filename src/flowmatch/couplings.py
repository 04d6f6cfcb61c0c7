"""Couplings: how a batch of source samples x0 is paired with a batch of data samples x1.

- independent: pairs as drawn, (x0, x1) ~ p0 x p1.
- ot: exact minibatch optimal transport with uniform weights, i.e. the permutation pi that
  minimises sum_i |x0_i - x1_pi(i)|^2 (scipy's linear_sum_assignment or POT's network simplex),
  over the whole batch or within consecutive blocks of `block` rows (exact OT of smaller
  minibatches, far cheaper: the solvers scale like m^2 to m^3).
- sinkhorn: entropic OT; each x0_i takes a partner drawn from row i of the Sinkhorn plan (POT).

Every coupling reorders x1 (and its labels) and keeps x0 as drawn, so a class label stays
with its image. Reference: Tong et al., "Improving and generalizing flow-based generative
models with minibatch optimal transport" (2023); Pooladian et al., "Multisample Flow Matching" (2023).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.options import check_options, option

COUPLINGS = ("independent", "ot", "sinkhorn")


def _sq_cost(x0: Tensor, x1: Tensor) -> np.ndarray:
    """(B, B) squared Euclidean costs between flattened x0: (B, *D) and x1: (B, *D)."""
    a = x0.detach().reshape(x0.shape[0], -1).double().cpu()
    b = x1.detach().reshape(x1.shape[0], -1).double().cpu()
    return torch.cdist(a, b).pow(2).numpy()


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

    cost = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    # With equal uniform weights the simplex's optimal vertex is a permutation matrix / m (the
    # transport polytope's vertices are integral), so each row has a single non-zero entry.
    plan = ot.emd(np.full(m, 1.0 / m), np.full(m, 1.0 / m), cost, check_marginals=False)
    return plan.argmax(axis=1)


def ot_permutation(x0: Tensor, x1: Tensor, block: int = 0) -> Tensor:
    """(B,) index pi with x1[pi] the exact-OT partner of each x0 (uniform weights, equal B).

    block > 0 solves rows [k*block, (k+1)*block) of x0 against the same rows of x1 on their own.
    """
    if x0.shape[0] != x1.shape[0]:
        raise FlowmatchError(f"ot coupling needs equal batch sizes, got {x0.shape[0]} and {x1.shape[0]}")
    n = x0.shape[0]
    size = n if block <= 0 else block
    # one conversion for the whole batch: this runs on a worker thread, where every Python-level
    # call competes with the training step for the GIL
    a = x0.detach().reshape(n, -1).double().cpu().numpy()
    b = x1.detach().reshape(n, -1).double().cpu().numpy()
    perm = np.concatenate([lo + _assignment(a[lo : lo + size], b[lo : lo + size]) for lo in range(0, n, size)])
    return torch.from_numpy(perm).to(x1.device)


def sinkhorn_indices(x0: Tensor, x1: Tensor, reg: float, generator: torch.Generator) -> Tensor:
    """(B,) index j_i ~ plan[i, :] / sum(plan[i, :]) under the entropic plan with regularisation reg.

    The cost is normalised by its mean so that `reg` is unitless across data scales.
    """
    import ot  # POT: imported only where entropic OT is used

    cost = _sq_cost(x0, x1)
    cost = cost / max(cost.mean(), 1e-12)
    n, m = cost.shape
    # Small regularisations underflow exp(-cost/reg): switch to the log-domain iterations there.
    method = "sinkhorn_log" if reg < 0.02 else "sinkhorn"
    plan = ot.sinkhorn(np.full(n, 1.0 / n), np.full(m, 1.0 / m), cost, reg, method=method, numItermax=5000)
    plan = torch.from_numpy(np.nan_to_num(plan)).clamp_min(0) + 1e-30
    return torch.multinomial(plan, 1, generator=generator).squeeze(1).to(x1.device)


@dataclass(frozen=True)
class Coupling:
    """A coupling by name; `pair(x0, x1, generator)` returns the index into x1 for each x0."""

    kind: str = "independent"
    reg: float = 0.05
    block: int = 0

    def __post_init__(self):
        if self.kind not in COUPLINGS:
            raise FlowmatchError(f"unknown coupling {self.kind!r}; choose one of {', '.join(COUPLINGS)}")
        if not self.reg > 0:
            raise FlowmatchError(f"sinkhorn regularisation must be > 0, got {self.reg}")
        if self.block < 0:
            raise FlowmatchError(f"ot block must be >= 0 (0: the whole batch), got {self.block}")

    def pair(self, x0: Tensor, x1: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """(B,) indices idx such that (x0[i], x1[idx[i]]) are the coupled pairs."""
        if self.kind == "independent":
            return torch.arange(x1.shape[0], device=x1.device)
        if self.kind == "ot":
            return ot_permutation(x0, x1, self.block)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        return sinkhorn_indices(x0, x1, self.reg, generator)


@dataclass(frozen=True)
class CouplingConfig:
    """The coupling of a run, as options."""

    coupling: str = option("independent", "pairing of source and data samples in a batch", choices=COUPLINGS)
    sinkhorn_reg: float = option(0.05, "entropic regularisation of --coupling sinkhorn (relative to the mean cost)", min=0.0, min_open=True)
    # 64 measured as good as the whole 256 batch (W2 within 0.01 on moons and checkerboard) at
    # a fraction of the solver time (docs/benchmarks.md: "OT coupling cost").
    ot_block: int = option(64, "--coupling ot: exact OT within blocks of this many rows of each batch (0: the whole batch)", min=0)

    def __post_init__(self):
        check_options(self)

    def build(self) -> Coupling:
        return Coupling(self.coupling, self.sinkhorn_reg, self.ot_block)
