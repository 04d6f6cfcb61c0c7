"""`DiscreteConfig`: the options of a discrete flow (its path, loss and default sampler)."""

from __future__ import annotations

from dataclasses import dataclass

from flowmatch.discrete.loss import DISCRETE_LOSSES
from flowmatch.discrete.path import DISCRETE_SOURCES, MixturePath
from flowmatch.discrete.sampler import DISCRETE_METHODS
from flowmatch.discrete.schedules import KAPPA_SCHEDULES, make_kappa
from flowmatch.options import check_options, option


@dataclass(frozen=True)
class DiscreteConfig:
    """Used by runs on token data (text, token arrays, discrete-checkerboard); ignored by the others."""

    discrete_source: str = option("mask", "token data: the source of the mixture path, an all-mask sequence or uniform tokens (the likelihood bound needs mask)", choices=DISCRETE_SOURCES)
    kappa: str = option("linear", "token data: the schedule kappa_t of the mixture path (polynomial: t^kappa-power)", choices=KAPPA_SCHEDULES)
    kappa_power: float = option(2.0, "token data: n of the polynomial schedule kappa_t = t^n", min=0.0, min_open=True)
    discrete_loss: str = option("kl", "token data: generalised KL (on the mask path: the likelihood bound) or cross-entropy of the posterior", choices=DISCRETE_LOSSES)
    discrete_sampler: str = option("kappa", "token data: the run's default sampler, the Euler step in kappa or in t", choices=DISCRETE_METHODS)

    def __post_init__(self):
        check_options(self)
        make_kappa(self.kappa, self.kappa_power)

    def build_path(self, vocab_size: int) -> MixturePath:
        """The mixture path over `vocab_size` tokens."""
        return MixturePath(make_kappa(self.kappa, self.kappa_power), int(vocab_size), self.discrete_source)
