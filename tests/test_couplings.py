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
