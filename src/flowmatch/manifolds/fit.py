"""A mixture of von Mises-Fisher distributions fitted to points on S^2 by expectation-maximisation.

E-step: responsibilities r_ik = w_k vMF_k(x_i) / sum_j w_j vMF_j(x_i). M-step: w_k = mean_i r_ik,
mu_k = s_k / |s_k| with s_k = sum_i r_ik x_i, and kappa_k from the mean resultant length
R_k = |s_k| / sum_i r_ik by kappa = R (3 - R^2) / (1 - R^2) (the approximation of Banerjee et al.,
"Clustering on the unit hypersphere using von Mises-Fisher distributions", JMLR 2005, for S^2).

Such a mixture is a data-dependent source for a flow on the sphere: it already puts its mass near
the data, so the flow only has to correct it locally (`flowmatch.data.MixtureSource`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.distributions import VonMisesFisherMixture

# a component on a few coincident points would otherwise grow without bound; 1e5 is an angular
# spread of 0.18 degrees (1 / sqrt(kappa) radians), about 20 km on the Earth
MAX_KAPPA = 1e5


def fit_vmf_mixture(x: Tensor, components: int, *, iters: int = 100, seed: int = 0, max_kappa: float = MAX_KAPPA) -> VonMisesFisherMixture:
    """The vMF mixture of `components` components fitted to x: (N, 3) unit vectors by `iters` EM
    steps, started from `components` distinct data points drawn with `seed`; float64 parameters.
    The weights are the mean responsibilities under the final parameters."""
    if x.ndim != 2 or x.shape[1] != 3:
        raise FlowmatchError(f"a von Mises-Fisher mixture is fitted to points of S^2, shape (N, 3); got {tuple(x.shape)}")
    if not 1 <= components <= len(x):
        raise FlowmatchError(f"a mixture of {components} components needs at least as many points; got {len(x)}")
    x = x.detach().double()
    g = torch.Generator().manual_seed(seed)
    mixture = VonMisesFisherMixture(
        x[torch.randperm(len(x), generator=g)[:components]].clone(),
        torch.full((components,), 10.0, dtype=torch.float64),
        torch.full((components,), 1.0 / components, dtype=torch.float64),
    )
    for _ in range(iters):
        r = mixture.responsibilities(x)
        mass = r.sum(0).clamp_min(1e-12)
        s = r.T @ x
        length = s.norm(dim=1).clamp_min(1e-12)
        resultant = (length / mass).clamp(max=1 - 1e-9)
        kappa = (resultant * (3 - resultant**2) / (1 - resultant**2)).clamp(1e-3, max_kappa)
        mixture = VonMisesFisherMixture(s / length[:, None], kappa, mass / mass.sum())
    weights = mixture.responsibilities(x).mean(0)
    return VonMisesFisherMixture(mixture.means, mixture.kappas, weights / weights.sum())


__all__ = ["MAX_KAPPA", "fit_vmf_mixture"]
