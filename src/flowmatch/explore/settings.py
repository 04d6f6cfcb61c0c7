"""The explorer's settings: one query string in, checked `Settings` out, and back.

Every setting of the page lives in the URL's query string (`?data=moons&coupling=ot&run=1`), so
a link reproduces a view. The page sends its query string to the server as it is, and this
module is the only place that reads it: an unknown key, an unknown name, a non-number, a
value out of range or a drawing of fewer than `MIN_POINTS` points is an `ExploreError` whose
message names the key, shown on the page.

A drawn distribution travels in the URL too (`data=drawn&data_pts=...`): its points are rounded
to a grid of `POINT_STEP` and packed as signed bytes, two per point, in URL-safe base64, so a
1,000-point drawing is about 2,700 characters of URL.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import numpy as np

from flowmatch.data import TOY_SETS
from flowmatch.errors import FlowmatchError
from flowmatch.explore.views import PAGE_COUPLINGS
from flowmatch.paths.schedules import SCHEDULES
from flowmatch.solvers import VELOCITY_STEPPERS

DRAWN = "drawn"  # data=drawn / source=drawn: the points in data_pts / source_pts
MIN_POINTS = 10  # fewer drawn points than this are not a distribution worth training on
MAX_POINTS = 20_000
POINT_STEP = 0.04  # drawn points are rounded to this grid: int8 * 0.04 spans [-5.12, 5.08]
VIEWS = ("none", "paths", "coupling", "density", "guidance")
MAX_STEPS = 64  # the steps slider's range is 1..64


class ExploreError(FlowmatchError):
    """A setting the page cannot use; the message names the key and is shown on the page."""


@dataclass(frozen=True)
class Settings:
    """One view of the explorer. Training settings (`TRAINING_KEYS`) make a new flow when they
    change; the others only change what is drawn from the current one."""

    data: str = "moons"  # a built-in 2D set or 'drawn'
    source: str = "gaussian"  # the path's Gaussian, a built-in 2D set or 'drawn'
    path: str = "condot"
    coupling: str = "independent"
    width: int = 128  # hidden units per layer of the MLP
    depth: int = 3  # hidden layers
    lr: float = 0.0  # 0: the toolkit's automatic rate (3e-3 with OT, else 1e-3)
    batch: int = 256
    seed: int = 0
    solver: str = "midpoint"
    steps: int = 8
    t: float = 1.0
    n: int = 600  # particles drawn on the page
    view: str = "none"
    guidance: float = 0.0  # density guidance scale lambda; 0: off
    run: bool = False
    data_pts: str = ""
    source_pts: str = ""


TRAINING_KEYS = ("data", "source", "path", "coupling", "width", "depth", "lr", "batch", "seed", "data_pts", "source_pts")
DEFAULTS = Settings()

# key -> (kind, choices or (low, high)); ranges are inclusive
_SPEC: dict[str, tuple[str, object]] = {
    "data": ("choice", (*TOY_SETS, DRAWN)),
    "source": ("choice", ("gaussian", *TOY_SETS, DRAWN)),
    "path": ("choice", tuple(SCHEDULES)),
    "coupling": ("choice", PAGE_COUPLINGS),
    "width": ("int", (4, 512)),
    "depth": ("int", (1, 8)),
    "lr": ("float", (0.0, 0.1)),
    "batch": ("int", (16, 1024)),  # Sinkhorn solves the whole batch: 1,024 is ~0.1 s a step
    "seed": ("int", (0, 2**31 - 1)),
    "solver": ("choice", VELOCITY_STEPPERS),
    "steps": ("int", (1, MAX_STEPS)),
    "t": ("float", (0.0, 1.0)),
    "n": ("int", (50, 4000)),
    "view": ("choice", VIEWS),
    "guidance": ("float", (0.0, 10.0)),
    "run": ("choice", ("0", "1")),
    "data_pts": ("points", None),
    "source_pts": ("points", None),
}


def _value(key: str, text: str):
    kind, spec = _SPEC[key]
    if kind == "choice":
        if text not in spec:  # type: ignore[operator]
            raise ExploreError(f"{key}: unknown {key} {text!r}; choose one of {', '.join(spec)}")  # type: ignore[arg-type]
        return text == "1" if key == "run" else text
    if kind == "points":
        decode_points(text, key)  # checked now, so the error names the key
        return text
    low, high = spec  # type: ignore[misc]
    try:
        value = int(text) if kind == "int" else float(text)
    except ValueError:
        raise ExploreError(f"{key}: expected {'an integer' if kind == 'int' else 'a number'}, got {text!r}") from None
    if kind == "float" and not math.isfinite(value):
        raise ExploreError(f"{key}: expected a finite number, got {text!r}")
    if not low <= value <= high:
        raise ExploreError(f"{key}: must be between {low:g} and {high:g}, got {text}")
    return value


def parse_query(query: str) -> Settings:
    """`Settings` from a query string ('?' optional); every key is optional, defaults fill the rest."""
    if len(query) > 200_000:
        raise ExploreError(f"the query string is too long ({len(query)} characters)")
    given: dict[str, object] = {}
    for key, text in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if key not in _SPEC:
            raise ExploreError(f"unknown setting {key!r}; the settings are {', '.join(_SPEC)}")
        if key in given:
            raise ExploreError(f"{key}: given twice")
        given[key] = _value(key, text)
    settings = dataclasses.replace(DEFAULTS, **given)
    for side in ("data", "source"):
        if getattr(settings, side) == DRAWN and not getattr(settings, f"{side}_pts"):
            raise ExploreError(f"{side}=drawn needs a drawing: draw at least {MIN_POINTS} points with the mouse")
    return settings


def describe() -> dict[str, dict[str, object]]:
    """Every setting's kind, choices or range, and default: the page builds its controls from it."""
    out: dict[str, dict[str, object]] = {}
    for key, (kind, spec) in _SPEC.items():
        default = getattr(DEFAULTS, key)
        entry: dict[str, object] = {"kind": kind, "default": int(default) if isinstance(default, bool) else default}
        if kind == "choice":
            entry["choices"] = list(spec)  # type: ignore[call-overload]
        elif kind in ("int", "float"):
            entry["min"], entry["max"] = spec  # type: ignore[misc]
        out[key] = entry
    return out


def to_query(settings: Settings) -> str:
    """The query string of `settings`, with only the keys that differ from the defaults."""
    out = {}
    for f in dataclasses.fields(Settings):
        value = getattr(settings, f.name)
        if value != getattr(DEFAULTS, f.name):
            out[f.name] = ("1" if value else "0") if isinstance(value, bool) else value
    return urlencode(out)


def training_key(settings: Settings) -> tuple:
    """What identifies the flow being trained: two settings with the same key share a model."""
    return tuple(getattr(settings, k) for k in TRAINING_KEYS)


def encode_points(points: np.ndarray) -> str:
    """(N, 2) points -> URL-safe base64 of int8 pairs on the POINT_STEP grid (clipped to it)."""
    q = np.clip(np.round(np.asarray(points, dtype=np.float64) / POINT_STEP), -128, 127).astype(np.int8)
    return base64.urlsafe_b64encode(q.tobytes()).decode().rstrip("=")


def decode_points(text: str, key: str = "data_pts") -> np.ndarray:
    """(N, 2) float32 points from `encode_points`' text; fewer than MIN_POINTS is an error."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ExploreError(f"{key}: not a drawing (expected URL-safe base64)") from None
    if len(raw) % 2:
        raise ExploreError(f"{key}: a drawing holds pairs of bytes, got {len(raw)} bytes")
    n = len(raw) // 2
    if n < MIN_POINTS:
        raise ExploreError(f"{key}: a drawing needs at least {MIN_POINTS} points, got {n}; draw more")
    if n > MAX_POINTS:
        raise ExploreError(f"{key}: a drawing holds at most {MAX_POINTS} points, got {n}")
    return (np.frombuffer(raw, dtype=np.int8).reshape(n, 2).astype(np.float32)) * np.float32(POINT_STEP)


__all__ = ["DRAWN", "ExploreError", "MAX_STEPS", "MIN_POINTS", "Settings", "TRAINING_KEYS", "VIEWS", "decode_points", "describe", "encode_points", "parse_query", "to_query", "training_key"]
