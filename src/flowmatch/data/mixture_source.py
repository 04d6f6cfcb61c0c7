"""A source fitted to the data: a mixture of von Mises-Fisher distributions on S^2 (`--source mixture`).

A flow from the uniform distribution has to carry every bit of mass across the globe to data that
sit along coasts, rivers and fire fronts. A mixture fitted to the training data already puts its
mass near them (`flowmatch.manifolds.fit_vmf_mixture`), and with the component coupling each data
point x1 is paired with a draw x0 from the component that explains it,

    k ~ r(k | x1) = w_k vMF_k(x1) / q(x1),   x0 ~ vMF_k,

so the flow only corrects the mixture locally along short geodesics. The pairs' x0 marginal is
sum_k E_data[r(k | x1)] vMF_k, which is the mixture q itself because its weights are the mean
responsibilities of the training data; the likelihood of the flow is then
log p1(x1) = log q(x0) - int div v dt. This is a data-dependent coupling in the sense of Albergo et
al., "Stochastic interpolants with data-dependent couplings" (ICML 2024).

The number of components is picked by the validation points' log-likelihood under the fitted
mixture when they are given (the model selection `--val-data` is for): the fewest components
within one standard error of the best (Breiman et al.'s one-standard-error rule); otherwise one
per COMPONENT_POINTS training points.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from flowmatch.data.sources import Batch, DataSource
from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import VonMisesFisherMixture, fit_vmf_mixture

MIXTURE_SOURCE = "mixture"
COMPONENT_POINTS = 16  # training points per component when no validation points choose
COMPONENT_CHOICES = (32, 64, 128, 256, 512, 1024)  # what the validation points choose from
MAX_COMPONENTS = 1024
FIT_POINTS = 20_000  # a built-in set (fresh draws) is fitted on this many points


class MixtureSource(DataSource):
    """The source q: a vMF mixture on S^2; `sample` draws from q, `sample_paired` draws x0 from
    the component of each x1 (the component coupling), `log_prob` is log q (nats, w.r.t. area)."""

    name = MIXTURE_SOURCE

    def __init__(self, mixture: VonMisesFisherMixture):
        self.mixture = mixture
        self.shape = (3,)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        return Batch(self.mixture.sample(n, generator).float())

    def sample_paired(self, x1: Tensor, generator: torch.Generator) -> Tensor:
        """x0: (B, 3), x0_i drawn from a component k_i ~ r(k | x1_i); x1: (B, 3)."""
        k = torch.multinomial(self.mixture.responsibilities(x1.detach().double()), 1, generator=generator).squeeze(1)
        return self.mixture.sample_components(k, generator).to(x1.dtype)

    def log_prob(self, x: Tensor) -> Tensor:
        """(N,) log q(x) for x: (N, 3), computed in float64 on x renormalised there (a float32
        point's norm is off by ~1e-7, which a concentration of 1e5 would turn into 1e-2 nats)."""
        x64 = x.double()
        return self.mixture.log_prob(x64 / x64.norm(dim=-1, keepdim=True)).to(x.dtype)

    def tensors(self) -> dict[str, Tensor]:
        """The parameters, as a run or an export keeps them."""
        return {"means": self.mixture.means, "kappas": self.mixture.kappas, "weights": self.mixture.weights}

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor], where: str) -> MixtureSource:
        """The source kept in `where` (a checkpoint or an export), checked: unit means (K, 3),
        positive finite concentrations (K,), weights (K,) that sum to 1."""
        means, kappas, weights = (tensors.get(k) if isinstance(tensors, dict) else None for k in ("means", "kappas", "weights"))
        ok = all(isinstance(a, Tensor) and a.is_floating_point() for a in (means, kappas, weights))
        if ok:
            k = len(kappas)
            ok = means.shape == (k, 3) and kappas.shape == (k,) and weights.shape == (k,) and k > 0
            ok = ok and bool(torch.isfinite(means).all() and torch.isfinite(kappas).all() and torch.isfinite(weights).all())
            ok = ok and bool((means.double().norm(dim=1) - 1).abs().max() < 1e-6) and bool((kappas > 0).all()) and bool((weights >= 0).all())
            ok = ok and abs(float(weights.double().sum()) - 1) < 1e-6
        if not ok:
            raise FlowmatchError(f"{where} holds a damaged mixture source: it needs unit means (K, 3), positive kappas (K,) and weights (K,) summing to 1")
        return cls(VonMisesFisherMixture(means.double(), kappas.double(), weights.double()))


def fit_mixture_source(data: DataSource, components: int, val_points: Tensor | None, seed: int) -> MixtureSource:
    """The mixture source fitted to the training data (all its points, or FIT_POINTS draws of a
    built-in set): `components` components, or (0) the number the validation points' likelihood
    picks from COMPONENT_CHOICES (the fewest within one standard error of the best), or without
    them one per COMPONENT_POINTS training points."""
    if tuple(data.shape) != (3,):
        raise FlowmatchError(f"--source {MIXTURE_SOURCE} is a von Mises-Fisher mixture on the sphere S^2: it needs points of shape (3,), got {tuple(data.shape)}")
    points = getattr(data, "points", None)
    if points is None:
        points = data.sample(FIT_POINTS, torch.Generator().manual_seed(seed)).x
    points = points.double()
    most = max(1, len(points) // 4)  # at least four points per component
    if components:
        return MixtureSource(fit_vmf_mixture(points, min(components, len(points)), seed=seed))
    if val_points is None:
        count = min(MAX_COMPONENTS, max(1, len(points) // COMPONENT_POINTS))
        return MixtureSource(fit_vmf_mixture(points, count, seed=seed))
    # the one-standard-error rule: the fewest components whose validation NLL is within one
    # standard error of the best, so that the flow, not the mixture, fits what the validation
    # points cannot tell apart (a finer mixture leaves the flow only the training points to learn)
    fits, scores = [], []
    for count in [k for k in COMPONENT_CHOICES if k <= most] or [most]:  # few points: the most they allow
        fits.append(fit_vmf_mixture(points, count, seed=seed))
        scores.append(-fits[-1].log_prob(val_points.double()))
    means = [float(v.mean()) for v in scores]
    lowest = min(range(len(means)), key=means.__getitem__)
    within = means[lowest] + float(scores[lowest].std()) / math.sqrt(len(scores[lowest]))
    best = fits[min(i for i, m in enumerate(means) if m <= within)]
    return MixtureSource(best)


__all__ = ["COMPONENT_CHOICES", "COMPONENT_POINTS", "MIXTURE_SOURCE", "MixtureSource", "fit_mixture_source"]
