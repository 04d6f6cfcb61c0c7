"""Minibatch OT on a manifold: the geodesic cost's optimum, in blocks, as the trainer's coupling."""

from __future__ import annotations

import itertools

import pytest
import torch

from flowmatch.couplings import GeodesicCoupling, geodesic_ot_permutation
from flowmatch.manifolds import FlatTorus, Sphere


def _points(m, n, g):
    return m.random_base(n, g, dtype=torch.float64)


def test_geodesic_ot_is_the_cheapest_permutation():
    s = Sphere(2)
    g = torch.Generator().manual_seed(5)
    x0, x1 = _points(s, 6, g), _points(s, 6, g)
    perm = geodesic_ot_permutation(s, x0, x1)
    cost = s.pairwise_dist(x0, x1).pow(2)
    best = min(sum(float(cost[i, p[i]]) for i in range(6)) for p in itertools.permutations(range(6)))
    assert sum(float(cost[i, perm[i]]) for i in range(6)) == pytest.approx(best, abs=1e-12)
    assert sorted(perm.tolist()) == list(range(6))


def test_blocks_are_solved_on_their_own_and_the_torus_cost_wraps():
    torus = FlatTorus(1)
    # 3.0 and -3.0 are 0.28 apart across the seam: OT pairs them, not 3.0 with 2.0
    x0 = torch.tensor([[3.0], [-2.0], [0.1], [0.5]], dtype=torch.float64)
    x1 = torch.tensor([[-2.1], [-3.0], [0.45], [0.0]], dtype=torch.float64)
    index = GeodesicCoupling(torus, block=2).pair(x0, x1)
    assert index.tolist() == [1, 0, 3, 2]
    assert GeodesicCoupling(torus).couple(x0, x1).weight is None
