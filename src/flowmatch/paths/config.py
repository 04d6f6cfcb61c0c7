"""`PathConfig`: the probability path of a run, as options (every path parameter settable)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flowmatch.errors import FlowmatchError
from flowmatch.options import check_options, option
from flowmatch.paths.affine import AffinePath, make_path
from flowmatch.paths.bridge import BridgePath
from flowmatch.paths.schedules import SCHEDULES

# schedule field -> option name (the polynomial's exponent is `n` in its formula)
OPTION_OF = {"sigma_min": "sigma_min", "sigma_max": "sigma_max", "beta_min": "beta_min", "beta_max": "beta_max", "n": "exponent"}
PATHS = (*SCHEDULES, "bridge")  # the affine schedules, and the Brownian bridge (flowmatch.paths.bridge)
PARAMETERS = (*OPTION_OF.values(), "bridge_sigma")


@dataclass(frozen=True)
class PathConfig:
    """The path's name and its parameters; None keeps the path's own default."""

    path: str = option("condot", "probability path (bridge: the Brownian bridge of Schrödinger-bridge flow matching)", choices=PATHS)
    sigma_min: float | None = option(None, "condot: sigma at t=1 (default 0); ve: the smallest noise (default 0.01)", min=0.0)
    sigma_max: float | None = option(None, "ve: the noise at t=0, the source's scale (default 10)", min=0.0, min_open=True)
    beta_min: float | None = option(None, "vp: beta at t=1 (default 0.1)", min=0.0)
    beta_max: float | None = option(None, "vp: beta at t=0 (default 20)", min=0.0)
    exponent: float | None = option(None, "polynomial: alpha_t = t^exponent (default 2)", min=0.0, min_open=True)
    bridge_sigma: float | None = option(None, "bridge: the noise sigma of the Brownian bridge (default 0.5)", min=0.0, min_open=True)

    def __post_init__(self):
        check_options(self)
        if self.path == "bridge":
            takes = {"bridge_sigma"}
        else:
            takes = {OPTION_OF.get(f.name, f.name) for f in dataclasses.fields(SCHEDULES[self.path])}
        given = sorted(k for k in PARAMETERS if getattr(self, k) is not None and k not in takes)
        if given:  # refused now, by the options' own names, not at the first training step
            what = ", ".join(sorted(takes)) if takes else "no parameters"
            raise FlowmatchError(f"path {self.path!r} takes {what}; got {', '.join(given)}")
        self.build()

    def build(self) -> AffinePath | BridgePath:
        if self.path == "bridge":
            return BridgePath() if self.bridge_sigma is None else BridgePath(self.bridge_sigma)
        params = {field: getattr(self, name) for field, name in OPTION_OF.items()}
        return make_path(self.path, **params)
