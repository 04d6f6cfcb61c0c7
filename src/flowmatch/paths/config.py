"""`PathConfig`: the probability path of a run, as options (every schedule parameter settable)."""

from __future__ import annotations

from dataclasses import dataclass

from flowmatch.options import check_options, option
from flowmatch.paths.affine import AffinePath, make_path
from flowmatch.paths.schedules import SCHEDULES


@dataclass(frozen=True)
class PathConfig:
    """The path's name and its schedule's parameters; None keeps the schedule's own default."""

    path: str = option("condot", "probability path", choices=tuple(SCHEDULES))
    sigma_min: float | None = option(None, "condot: sigma at t=1 (default 0); ve: the smallest noise (default 0.01)", min=0.0)
    sigma_max: float | None = option(None, "ve: the noise at t=0, the source's scale (default 10)", min=0.0, min_open=True)
    beta_min: float | None = option(None, "vp: beta at t=1 (default 0.1)", min=0.0)
    beta_max: float | None = option(None, "vp: beta at t=0 (default 20)", min=0.0)
    exponent: float | None = option(None, "polynomial: alpha_t = t^exponent (default 2)", min=0.0, min_open=True)

    def __post_init__(self):
        check_options(self)
        self.build()  # a parameter the path does not take is an error now, not at the first step

    def build(self) -> AffinePath:
        params = {"sigma_min": self.sigma_min, "sigma_max": self.sigma_max, "beta_min": self.beta_min, "beta_max": self.beta_max, "n": self.exponent}
        return make_path(self.path, **params)
