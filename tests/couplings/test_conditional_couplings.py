"""Condition-aware couplings (within-class OT, the condition-weighted cost) against brute force,
and unbalanced and partial OT on data with outliers."""

import itertools

import numpy as np
import pytest
import torch

from flowmatch.couplings import Coupling, CouplingConfig
from flowmatch.errors import FlowmatchError


def brute_force(x0, x1, extra=None):
    """(optimal cost, optimal permutation) of sum_i |x0_i - x1_p(i)|^2 (+ extra[i, p(i)])."""
    n = len(x0)
    cost = torch.cdist(x0.double(), x1.double()).pow(2)
    if extra is not None:
        cost = cost + extra
    best = min(itertools.permutations(range(n)), key=lambda p: sum(cost[i, p[i]].item() for i in range(n)))
    return sum(cost[i, best[i]].item() for i in range(n)), list(best)


def labelled_batch(seed, n=18, classes=3):
    g = torch.Generator().manual_seed(seed)
    x0, x1 = torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g) * 2
    y = torch.randint(classes, (n,), generator=g)
    return x0, x1, y


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind,block", [("ot", 0), ("ot", 3), ("sinkhorn", 0), ("unbalanced", 0), ("partial", 0)])
def test_class_aware_couplings_never_pair_across_classes(seed, kind, block):
    x0, x1, y = labelled_batch(seed)
    pairing = Coupling(kind, block=block, reg=0.05).couple(x0, x1, torch.Generator().manual_seed(seed), y=y)
    # row i was drawn for class y_i; its partner must be of that class
    assert torch.equal(y[pairing.index], y)
    if kind == "ot":
        assert sorted(pairing.index.tolist()) == list(range(len(y)))  # still a permutation


@pytest.mark.parametrize("seed", range(4))
def test_class_aware_ot_equals_brute_force_within_each_class(seed):
    x0, x1, y = labelled_batch(seed)
    idx = Coupling("ot").pair(x0, x1, y=y)
    for k in y.unique():
        rows = torch.nonzero(y == k).squeeze(1)
        if len(rows) > 8:  # 8! permutations at most
            continue
        best_cost, best = brute_force(x0[rows], x1[rows])
        got = ((x0[rows].double() - x1[idx[rows]].double()) ** 2).sum().item()
        assert got == pytest.approx(best_cost, rel=1e-9)
        assert idx[rows].tolist() == rows[best].tolist()  # the optimum is unique for continuous data


def test_plain_ot_pairs_across_classes_and_labels_are_ignored_when_not_aware():
    x0, x1, y = labelled_batch(0, n=64)
    plain = Coupling("ot", aware=False).pair(x0, x1, y=y)
    assert torch.equal(plain, Coupling("ot").pair(x0, x1))
    assert not torch.equal(y[plain], y)  # what the condition-aware coupling prevents


@pytest.mark.parametrize("seed", range(3))
def test_condition_weighted_ot_equals_brute_force_of_the_augmented_cost(seed):
    g = torch.Generator().manual_seed(seed)
    x0, x1, c = torch.randn(7, 2, generator=g), torch.randn(7, 2, generator=g), torch.randn(7, 3, generator=g)
    w = 2.5
    idx = Coupling("ot", condition_weight=w).pair(x0, x1, c=c)
    # x0_i was drawn for c_i; pairing it with x1_j costs |x0_i - x1_j|^2 + w |c_i - c_j|^2
    best_cost, best = brute_force(x0, x1, w * torch.cdist(c.double(), c.double()).pow(2))
    assert idx.tolist() == best
    # a weight of 0 is plain OT; a huge weight keeps every x0 with its own condition's data
    assert torch.equal(Coupling("ot", condition_weight=0.0).pair(x0, x1, c=c), Coupling("ot").pair(x0, x1))
    assert torch.equal(Coupling("ot", condition_weight=1e6).pair(x0, x1, c=c), torch.arange(7))


def test_partial_ot_leaves_the_outliers_and_full_mass_is_exact_ot():
    g = torch.Generator().manual_seed(0)
    n, k = 40, 4
    x0 = torch.randn(n, 2, generator=g)
    x1 = torch.randn(n, 2, generator=g)
    x1[:k] += 30.0  # k outliers, far from every source point
    pairing = Coupling("partial", mass=1 - k / n).couple(x0, x1, torch.Generator().manual_seed(1))
    live = pairing.weight > 1e-6
    assert not (pairing.index[live] < k).any()  # no mass goes to an outlier
    assert int(live.sum()) == n - k and pairing.weight.mean().item() == pytest.approx(1.0, rel=1e-6)
    full = Coupling("partial", mass=1.0).couple(x0, x1, torch.Generator().manual_seed(1))
    assert torch.equal(full.index, Coupling("ot").pair(x0, x1))
    assert torch.allclose(full.weight, torch.ones(n), atol=1e-6)


def test_unbalanced_ot_gives_outliers_little_mass_and_approaches_sinkhorn_when_balanced():
    g = torch.Generator().manual_seed(2)
    n, k = 48, 4
    x0 = torch.randn(n, 2, generator=g)
    x0[:k] += 25.0  # source outliers: the rows of x0 the plan should leave light
    x1 = torch.randn(n, 2, generator=g)
    loose = Coupling("unbalanced", reg=0.05, reg_m=0.05).couple(x0, x1, torch.Generator().manual_seed(3))
    assert loose.weight[:k].max() < 0.2 * loose.weight[k:].median()
    tight = Coupling("unbalanced", reg=0.05, reg_m=1e4).couple(x0, x1, torch.Generator().manual_seed(3))
    assert torch.allclose(tight.weight, torch.ones(n), atol=0.05)  # marginals kept: every row has mass 1/n


def test_balanced_couplings_have_no_weights_and_options_are_checked():
    x, z = torch.randn(6, 2), torch.randn(6, 2)
    assert Coupling("ot").couple(x, z).weight is None and Coupling("sinkhorn").couple(x, z).weight is None
    for bad in [{"mass": 0.0}, {"mass": 1.5}, {"reg_m": 0.0}, {"condition_weight": -1.0}]:
        with pytest.raises(FlowmatchError):
            Coupling("partial", **bad)
    with pytest.raises(FlowmatchError, match="path bridge"):
        CouplingConfig(coupling="sb").build()
    sb = CouplingConfig(coupling="sb").build(bridge_sigma=0.5)
    assert sb.kind == "sinkhorn" and sb.reg == pytest.approx(0.5) and not sb.relative


def test_sb_coupling_uses_the_raw_cost_with_reg_two_sigma_squared():
    import ot

    from flowmatch.couplings import _plan, _rows

    g = torch.Generator().manual_seed(4)
    x0, x1 = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    sigma = 0.8
    coupling = CouplingConfig(coupling="sb").build(bridge_sigma=sigma)
    plan = _plan(coupling.kind, _rows(x0), _rows(x1), coupling.reg, coupling.relative, coupling.reg_m, coupling.mass)
    cost = torch.cdist(x0.double(), x1.double()).pow(2).numpy()
    expected = ot.sinkhorn(np.full(6, 1 / 6), np.full(6, 1 / 6), cost, 2 * sigma**2)  # not rescaled by the mean cost
    assert np.allclose(plan, expected, atol=1e-9)
    # the Gibbs kernel's form: plan = diag(u) exp(-cost / (2 sigma^2)) diag(v) has rank-one log-ratios
    log_ratio = np.log(plan) + cost / (2 * sigma**2)
    assert np.allclose(log_ratio - log_ratio[:, :1] - log_ratio[:1, :] + log_ratio[0, 0], 0, atol=1e-6)
