"""A mixture of von Mises-Fisher distributions fitted to points on S^2 by expectation-maximisation.

E-step: responsibilities r_ik = w_k vMF_k(x_i) / sum_j w_j vMF_j(x_i). M-step: w_k = mean_i r_ik,
mu_k = s_k / |s_k| with s_k = sum_i r_ik x_i, and kappa_k from the mean resultant length
R_k = |s_k| / sum_i r_ik by kappa = R (3 - R^2) / (1 - R^2) (the approximation of Banerjee et al.,
"Clustering on the unit hypersphere using von Mises-Fisher distributions", JMLR 2005, for S^2).

With `background=True` the last component is the uniform distribution (a vMF of concentration
BACKGROUND_KAPPA, whose density is 1 / (4 pi) to 1e-6), of which EM fits only the weight: a point
far from every cluster then costs at most -log(w_0 / (4 pi)) nats instead of whatever the
nearest sharp component leaves it.

Such a mixture is a data-dependent source for a flow on the sphere: it already puts its mass near
the data, so the flow only has to correct it locally (`flowmatch.data.MixtureSource`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.distributions import VonMisesFisherMixture, _log_vmf_normaliser

# a component on a few coincident points would otherwise grow without bound; 1e5 is an angular
# spread of 0.18 degrees (1 / sqrt(kappa) radians), about 20 km on the Earth
MAX_KAPPA = 1e5
# the components start this concentrated (about 4 degrees wide) around their seed points: started
# wide (kappa 10), neighbouring components merge and a 1,024-component fit to the Fire events
# scored 0.2 nats worse on held-out events
START_KAPPA = 200.0
BACKGROUND_KAPPA = 1e-6
BACKGROUND_START = 0.01


def fit_vmf_mixture(x: Tensor, components: int, *, iters: int = 100, seed: int = 0, max_kappa: float = MAX_KAPPA, start_kappa: float = START_KAPPA, background: bool = False) -> VonMisesFisherMixture:
    """The vMF mixture of `components` components (plus, with `background`, a uniform one last)
    fitted to x: (N, 3) unit vectors by `iters` EM steps, started from `components` distinct data
    points drawn with `seed`; float64 parameters, the weights the mean responsibilities under the
    final parameters.

    The E-step runs in float32 as one matrix product (the logits kappa_k <mu_k, x> + log(w_k C_k)
    are off by at most ~1e-2 at kappa 1e5, which moves responsibilities, not the fitted density,
    computed in float64 by `log_prob`)."""
    if x.ndim != 2 or x.shape[1] != 3:
        raise FlowmatchError(f"a von Mises-Fisher mixture is fitted to points of S^2, shape (N, 3); got {tuple(x.shape)}")
    if not 1 <= components <= len(x):
        raise FlowmatchError(f"a mixture of {components} components needs at least as many points; got {len(x)}")
    x64 = x.detach().double()
    x32 = x64.float()
    g = torch.Generator().manual_seed(seed)
    means = x64[torch.randperm(len(x64), generator=g)[:components]].clone()
    kappas = torch.full((components,), float(start_kappa), dtype=torch.float64)
    weights = torch.full((components,), (1 - BACKGROUND_START * background) / components, dtype=torch.float64)
    floor = torch.tensor([BACKGROUND_START], dtype=torch.float64)
    for _ in range(iters):
        logits = torch.addmm((_log_vmf_normaliser(kappas) + torch.log(weights)).float()[None], x32, (means * kappas[:, None]).float().T)
        if background:
            logits = torch.cat([logits, torch.full((len(x32), 1), float(torch.log(floor) + _log_vmf_normaliser(torch.tensor(BACKGROUND_KAPPA, dtype=torch.float64))))], 1)
        r = torch.softmax(logits, dim=1)
        mass = r.sum(0).double().clamp_min(1e-12)
        s = (r[:, :components].T @ x32).double()
        length = s.norm(dim=1).clamp_min(1e-12)
        resultant = (length / mass[:components]).clamp(max=1 - 1e-9)
        means = s / length[:, None]
        kappas = (resultant * (3 - resultant**2) / (1 - resultant**2)).clamp(1e-3, max_kappa)
        weights, floor = mass[:components] / mass.sum(), mass[components:] / mass.sum()
    if background:
        means = torch.cat([means, torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)])
        kappas = torch.cat([kappas, torch.tensor([BACKGROUND_KAPPA], dtype=torch.float64)])
        weights = torch.cat([weights, floor])
    fitted = VonMisesFisherMixture(means, kappas, weights)
    final = fitted.responsibilities(x64).mean(0)
    return VonMisesFisherMixture(means, kappas, final / final.sum())


__all__ = ["MAX_KAPPA", "fit_vmf_mixture"]
