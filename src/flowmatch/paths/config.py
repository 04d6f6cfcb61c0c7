"""`PathConfig`: the probability path of a run, as options (every schedule parameter settable)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flowmatch.errors import FlowmatchError
from flowmatch.options import check_options, option
from flowmatch.paths.affine import AffinePath, make_path
from flowmatch.paths.schedules import SCHEDULES

# schedule field -> option name (the polynomial's exponent is `n` in its formula)
OPTION_OF = {"sigma_min": "sigma_min", "sigma_max": "sigma_max", "beta_min": "beta_min", "beta_max": "beta_max", "n": "exponent"}


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
        takes = {OPTION_OF.get(f.name, f.name) for f in dataclasses.fields(SCHEDULES[self.path])}
        given = sorted(k for k in OPTION_OF.values() if getattr(self, k) is not None and k not in takes)
        if given:  # refused now, by the options' own names, not at the first training step
            what = ", ".join(sorted(takes)) if takes else "no parameters"
            raise FlowmatchError(f"path {self.path!r} takes {what}; got {', '.join(given)}")
        self.build()

    def build(self) -> AffinePath:
        params = {field: getattr(self, name) for field, name in OPTION_OF.items()}
        return make_path(self.path, **params)
