"""Couplings: the exact OT permutation against brute force; Sinkhorn's two limits."""

import itertools

import pytest
import torch

from flowmatch.couplings import Coupling
from flowmatch.errors import FlowmatchError


def brute_force_cost(x0, x1):
    n = len(x0)
    return min(sum(((x0[i] - x1[p[i]]) ** 2).sum().item() for i in range(n)) for p in itertools.permutations(range(n)))


@pytest.mark.parametrize("seed", range(5))
def test_exact_ot_equals_brute_force_optimum(seed):
    g = torch.Generator().manual_seed(seed)
    x0, x1 = torch.randn(7, 3, generator=g), torch.randn(7, 3, generator=g) + 1
    idx = Coupling("ot").pair(x0, x1)
    assert sorted(idx.tolist()) == list(range(7))  # a permutation
    cost = ((x0 - x1[idx]) ** 2).sum().item()
    assert cost == pytest.approx(brute_force_cost(x0, x1), rel=1e-6)


def test_exact_ot_on_image_shaped_batches():
    x0 = torch.randn(5, 1, 2, 2)
    perm = torch.tensor([3, 0, 4, 1, 2])
    x1 = x0[perm] + 0.01  # the OT partner of x0[i] is x1[j] with perm[j] = i
    idx = Coupling("ot").pair(x0, x1)
    assert torch.equal(perm[idx], torch.arange(5))


def test_sinkhorn_small_reg_recovers_ot_and_large_reg_is_near_independent():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(32, 2, generator=g)
    x1 = x0[torch.randperm(32, generator=g)] * 1.0 + 0.01 * torch.randn(32, 2, generator=g)
    ot_idx = Coupling("ot").pair(x0, x1)
    sk_idx = Coupling("sinkhorn", reg=1e-3).pair(x0, x1, torch.Generator().manual_seed(1))
    assert (sk_idx == ot_idx).float().mean() > 0.9
    # with a huge regularisation the plan is uniform: partners are spread over the batch
    wide = Coupling("sinkhorn", reg=1e3).pair(x0, x1, torch.Generator().manual_seed(2))
    assert (wide == ot_idx).float().mean() < 0.3
    assert len(set(wide.tolist())) > 10


def test_independent_keeps_order_and_unknown_is_an_error():
    x = torch.randn(4, 2)
    assert Coupling().pair(x, x).tolist() == [0, 1, 2, 3]
    with pytest.raises(FlowmatchError, match="unknown coupling"):
        Coupling("greedy")


def _lp_optimum(x0, x1):
    """Optimal assignment cost by scipy's LP solver (HiGHS) on the transport polytope: an
    independent route to the optimum (the simplex vertex of a uniform problem is a permutation)."""
    import numpy as np
    from scipy.optimize import linprog

    n = len(x0)
    c = torch.cdist(x0.double(), x1.double()).pow(2).numpy().ravel()
    rows = np.kron(np.eye(n), np.ones(n))
    cols = np.kron(np.ones(n), np.eye(n))
    res = linprog(c, A_eq=np.vstack([rows, cols]), b_eq=np.ones(2 * n), bounds=(0, None), method="highs")
    return res.fun


def test_large_batches_use_the_network_simplex_and_reach_the_lp_optimum():
    # 150 > 128 rows: solved by POT's network simplex; the plan must still be a permutation
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(150, 2, generator=g), torch.rand(150, 2, generator=g) * 4 - 2
    idx = Coupling("ot").pair(x0, x1)
    assert sorted(idx.tolist()) == list(range(150))
    cost = ((x0.double() - x1.double()[idx]) ** 2).sum().item()
    assert cost == pytest.approx(_lp_optimum(x0, x1), rel=1e-7)


def test_ot_blocks_solve_each_block_exactly_and_never_cross_blocks():
    g = torch.Generator().manual_seed(1)
    x0, x1 = torch.randn(20, 2, generator=g), torch.randn(20, 2, generator=g) + 1
    idx = Coupling("ot", block=8).pair(x0, x1)  # blocks of 8, 8 and 4 rows
    assert sorted(idx.tolist()) == list(range(20))
    for lo, hi in ((0, 8), (8, 16), (16, 20)):
        block = idx[lo:hi]
        assert block.min() >= lo and block.max() < hi  # partners stay within the block
        cost = ((x0[lo:hi].double() - x1.double()[block]) ** 2).sum().item()
        assert cost == pytest.approx(_lp_optimum(x0[lo:hi], x1[lo:hi]), rel=1e-7)
    whole = Coupling("ot").pair(x0, x1)
    assert ((x0 - x1[whole]) ** 2).sum() <= ((x0 - x1[idx]) ** 2).sum() + 1e-6  # blocks cannot beat the whole batch


def test_negative_ot_block_is_an_error():
    with pytest.raises(FlowmatchError, match="ot block"):
        Coupling("ot", block=-1)
