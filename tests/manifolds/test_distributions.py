"""The closed-form test distributions: normalised densities, samplers that follow them."""

from __future__ import annotations

import math

import pytest
import torch

from flowmatch.manifolds import FlatTorus, Sphere, SphereCheckerboard, latlon_to_xyz, xyz_to_latlon
from flowmatch.manifolds.distributions import vmf_mixture, wrapped_normal_mixture


def _integral_by_uniform(manifold, dist, n=150_000):
    """int p dvol = vol * E_uniform[p]."""
    x = manifold.random_base(n, torch.Generator().manual_seed(0), dtype=torch.float64)
    return math.exp(manifold.log_volume()) * float(dist.log_prob(x).exp().mean())


@pytest.mark.parametrize(("manifold", "dist"), [(Sphere(2), vmf_mixture()), (Sphere(2), SphereCheckerboard()), (FlatTorus(2), wrapped_normal_mixture())], ids=["vmf", "checkerboard", "wrapped-normal"])
def test_densities_integrate_to_one(manifold, dist):
    assert _integral_by_uniform(manifold, dist) == pytest.approx(1.0, abs=0.03)


def test_samplers_follow_their_densities():
    # E_p[f] by the sampler against vol * E_uniform[p f] with f = the first coordinate's cosine
    for manifold, dist in ((Sphere(2), vmf_mixture()), (FlatTorus(2), wrapped_normal_mixture())):
        draws = dist.sample(100_000, torch.Generator().manual_seed(1)).double()
        x = manifold.random_base(400_000, torch.Generator().manual_seed(2), dtype=torch.float64)
        f = torch.cos if isinstance(manifold, FlatTorus) else (lambda y: y)
        by_density = math.exp(manifold.log_volume()) * (dist.log_prob(x).exp()[:, None] * f(x)).mean(0)
        assert torch.allclose(f(draws).mean(0), by_density, atol=0.02)
        assert bool(manifold.on_manifold(draws).all())


def test_checkerboard_draws_fall_on_its_cells_and_its_entropy_is_log_2_pi():
    board = SphereCheckerboard()
    draws = board.sample(5000, torch.Generator().manual_seed(3)).double()
    assert bool(torch.isfinite(board.log_prob(draws)).all())
    assert board.entropy(20_000) == pytest.approx(math.log(2 * math.pi), abs=1e-9)


def test_single_vmf_entropy_matches_its_closed_form():
    from flowmatch.manifolds import VonMisesFisherMixture

    k = 12.0
    one = VonMisesFisherMixture(torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64), torch.tensor([k], dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    # H = -log C(k) - k A(k), A(k) = coth k - 1/k, C(k) = k / (4 pi sinh k)
    closed = -math.log(k / (4 * math.pi * math.sinh(k))) - k * (1 / math.tanh(k) - 1 / k)
    assert one.entropy(200_000) == pytest.approx(closed, abs=0.01)


def test_latlon_round_trip():
    lat, lon = torch.tensor([89.0, -45.0, 0.0, 10.0], dtype=torch.float64), torch.tensor([179.0, -170.0, 0.0, 90.0], dtype=torch.float64)
    x = latlon_to_xyz(lat, lon)
    assert torch.allclose(x.norm(dim=-1), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(xyz_to_latlon(x), torch.stack([lat, lon], -1), atol=1e-10)
