"""EM for a von Mises-Fisher mixture recovers known parameters; the fitted source's coupling keeps its marginal."""

import math

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import VonMisesFisherMixture, fit_vmf_mixture, latlon_to_xyz


def two_components() -> VonMisesFisherMixture:
    means = latlon_to_xyz(torch.tensor([30.0, -40.0], dtype=torch.float64), torch.tensor([0.0, 120.0], dtype=torch.float64))
    return VonMisesFisherMixture(means, torch.tensor([50.0, 400.0], dtype=torch.float64), torch.tensor([0.7, 0.3], dtype=torch.float64))


def test_em_recovers_the_means_concentrations_and_weights_of_a_known_mixture():
    truth = two_components()
    x = truth.sample(40_000, torch.Generator().manual_seed(0))
    fitted = fit_vmf_mixture(x, 2, seed=1)
    order = torch.argsort(fitted.kappas)  # the wide component first, as in `truth`
    cos = (fitted.means[order] * truth.means).sum(1)
    assert bool((cos > math.cos(math.radians(0.5))).all()), cos
    assert torch.allclose(fitted.kappas[order], truth.kappas, rtol=0.05)
    assert torch.allclose(fitted.weights[order], truth.weights, atol=0.01)


def test_the_weights_are_the_mean_responsibilities_so_the_component_coupling_keeps_the_source():
    # x0 drawn from the component of each training point has marginal sum_k mean_i r_k(x_i) vMF_k:
    # the fitted mixture itself when its weights are those means
    x = two_components().sample(5_000, torch.Generator().manual_seed(2))
    fitted = fit_vmf_mixture(x, 8, seed=0)
    assert torch.allclose(fitted.responsibilities(x.double()).mean(0), fitted.weights, atol=2e-3)


def test_sample_components_draws_from_the_named_component():
    truth = two_components()
    x = truth.sample_components(torch.ones(20_000, dtype=torch.long), torch.Generator().manual_seed(3))
    # E<mu, x> = coth(kappa) - 1 / kappa for a vMF on S^2
    k = float(truth.kappas[1])
    expected = 1 / math.tanh(k) - 1 / k
    assert abs(float((x.double() @ truth.means[1]).mean()) - expected) < 1e-4


@pytest.mark.parametrize("bad", [torch.zeros(10, 2), torch.zeros(3, 3)])
def test_bad_input_is_refused(bad):
    with pytest.raises(FlowmatchError):
        fit_vmf_mixture(bad, 5)


def test_the_background_component_is_uniform_and_takes_the_outliers():
    truth = two_components()
    clusters = truth.sample(4_000, torch.Generator().manual_seed(4)).double()
    g = torch.Generator().manual_seed(5)
    outliers = torch.randn(200, 3, generator=g, dtype=torch.float64)
    outliers = outliers / outliers.norm(dim=1, keepdim=True)
    fitted = fit_vmf_mixture(torch.cat([clusters, outliers]), 8, background=True)  # seeds in both clusters
    uniform = VonMisesFisherMixture(fitted.means[-1:], fitted.kappas[-1:], torch.ones(1, dtype=torch.float64))
    # the last component's density is 1 / (4 pi) everywhere
    assert torch.allclose(uniform.log_prob(outliers), torch.full((200,), -math.log(4 * math.pi), dtype=torch.float64), atol=1e-6)
    # 200 of 4,200 points are uniform: the background's weight is about 200 / 4,200 (plus the
    # clusters' share of a uniform draw, which lands near them rarely)
    assert 0.03 < float(fitted.weights[-1]) < 0.07
