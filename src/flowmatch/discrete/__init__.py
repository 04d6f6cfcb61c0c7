"""Discrete flow matching: flows on sequences of tokens x in {0..V-1}^L.

A `MixturePath` mixes a source (uniform tokens, or an all-mask sequence) with the data token by
token under a schedule kappa_t (`schedules`); a network predicts the posterior p_{1|t}(x1 | x_t)
as logits, trained by cross-entropy or the generalised KL (`loss`); `sample_discrete` simulates
the chain whose rates follow from that posterior (`sampler`), plainly or with classifier-free
guidance (`posterior`); `mask_elbo` bounds the likelihood of the mask path (`elbo`).
"""

from flowmatch.discrete.config import DiscreteConfig
from flowmatch.discrete.elbo import BoundResult, mask_elbo
from flowmatch.discrete.loss import DISCRETE_LOSSES, DiscreteDraw, discrete_loss, draw_masked_count, draw_training, token_losses
from flowmatch.discrete.path import DISCRETE_SOURCES, MixturePath
from flowmatch.discrete.posterior import GUIDANCE_SPACES, GuidedPosterior, Posterior, posterior
from flowmatch.discrete.sampler import DISCRETE_METHODS, DiscreteSampleResult, categorical, discrete_step, sample_discrete
from flowmatch.discrete.schedules import KAPPA_SCHEDULES, CosineKappa, KappaSchedule, PolynomialKappa, make_kappa

__all__ = [
    "BoundResult",
    "CosineKappa",
    "DISCRETE_LOSSES",
    "DISCRETE_METHODS",
    "DISCRETE_SOURCES",
    "DiscreteConfig",
    "DiscreteDraw",
    "DiscreteSampleResult",
    "GUIDANCE_SPACES",
    "GuidedPosterior",
    "KAPPA_SCHEDULES",
    "KappaSchedule",
    "MixturePath",
    "Posterior",
    "PolynomialKappa",
    "categorical",
    "discrete_loss",
    "discrete_step",
    "draw_masked_count",
    "draw_training",
    "make_kappa",
    "mask_elbo",
    "posterior",
    "sample_discrete",
    "token_losses",
]
