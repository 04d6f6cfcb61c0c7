"""Points on curved spaces: latitude/longitude files for the sphere, angle files for the torus,
and the built-in sets with closed-form densities (flowmatch.manifolds.distributions).

- sphere: a .csv of `latitude,longitude` rows in degrees (optional `#` comment lines and an
  optional header such as `lat,lon`, `lat,long` or `latitude,longitude`), or a .npy of shape
  (N, 2) (latitude, longitude in degrees) or (N, d+1) (unit vectors of S^d); points become unit
  vectors (N, d+1).
- torus: a .csv or .npy of angles (N, d), radians unless `degrees`; they become angles in
  [-pi, pi).
Off-manifold input (|latitude| > 90, vectors that are not unit, angles beyond a full turn,
NaN) is a one-line error.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from flowmatch.data.sources import ArrayData, Batch, DataSource
from flowmatch.data.toy import TOY_SETS
from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import CURVED_SETS, latlon_to_xyz, make_manifold, wrap, xyz_to_latlon

CURVED = ("sphere", "torus")
LAT_NAMES = ("lat", "latitude")
LON_NAMES = ("lon", "long", "lng", "longitude")
UNIT_TOLERANCE = 1e-4


def read_table(path: str | Path) -> np.ndarray:
    """(N, K) float64 numbers of a .csv (with `#` comments and an optional header, which for two
    columns may name them latitude and longitude in either order) or a .npy file."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"data file not found: {p}")
    if p.suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except Exception as exc:
            raise FlowmatchError(f"cannot read data file {p}: {type(exc).__name__}") from None
        if arr.dtype.kind not in "biuf" or arr.ndim != 2 or 0 in arr.shape:
            raise FlowmatchError(f"{p} must hold numbers of shape (N, D), got {arr.dtype} {tuple(arr.shape)}")
        return arr.astype(np.float64)
    if p.suffix != ".csv":
        raise FlowmatchError(f"unsupported data file {p.name!r} on a curved space: expected .csv or .npy")
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise FlowmatchError(f"data file {p} holds no points")
    names = None
    try:
        float(lines[0].split(",")[0])
    except ValueError:
        names = [h.strip().strip('"').lower() for h in lines[0].split(",")]
        lines = lines[1:]
    try:
        arr = np.loadtxt(lines, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        raise FlowmatchError(f"data file {p} holds values that are not numbers or rows of unequal length") from None
    if len(arr) == 0:
        raise FlowmatchError(f"data file {p} holds no points")
    if names and len(names) == 2 and names[0] in LON_NAMES and names[1] in LAT_NAMES:
        arr = arr[:, ::-1].copy()  # longitude first: put latitude first
    return arr


def _check_finite(arr: np.ndarray, what: str) -> None:
    if not np.isfinite(arr).all():
        raise FlowmatchError(f"{what} holds NaN or inf in {int((~np.isfinite(arr)).any(axis=1).sum())} row(s)")


def sphere_points(arr: np.ndarray, what: str = "data") -> np.ndarray:
    """(N, 2) latitude/longitude in degrees or (N, d+1) unit vectors -> (N, d+1) float32 unit vectors."""
    _check_finite(arr, what)
    if arr.shape[1] == 2:
        lat, lon = arr[:, 0], arr[:, 1]
        if np.abs(lat).max() > 90:
            raise FlowmatchError(f"{what}: latitudes must lie in [-90, 90] degrees, got {float(lat[np.abs(lat).argmax()]):g} (row {int(np.abs(lat).argmax()) + 1})")
        if np.abs(lon).max() > 360:
            raise FlowmatchError(f"{what}: longitudes must lie in [-360, 360] degrees, got {float(lon[np.abs(lon).argmax()]):g}")
        return latlon_to_xyz(torch.from_numpy(lat), torch.from_numpy(lon)).numpy().astype(np.float32)
    if arr.shape[1] < 2:
        raise FlowmatchError(f"{what}: points on the sphere are (latitude, longitude) pairs or unit vectors, got {arr.shape[1]} column")
    norms = np.linalg.norm(arr, axis=1)
    bad = np.abs(norms - 1) > UNIT_TOLERANCE
    if bad.any():
        i = int(bad.argmax())
        raise FlowmatchError(f"{what}: {int(bad.sum())} point(s) are not on the unit sphere (row {i + 1} has norm {norms[i]:.6g}); give unit vectors or latitude,longitude in degrees")
    return (arr / norms[:, None]).astype(np.float32)


def torus_points(arr: np.ndarray, degrees: bool = False, what: str = "data") -> np.ndarray:
    """(N, d) angles (radians, or degrees) -> (N, d) float32 angles in [-pi, pi)."""
    _check_finite(arr, what)
    turn = 360.0 if degrees else 2 * math.pi
    if np.abs(arr).max() > turn + 1e-9:
        hint = "" if degrees else " (angles in degrees? add --degrees)"
        raise FlowmatchError(f"{what}: angles must lie within one turn, |angle| <= {turn:g}{hint}; got {float(np.abs(arr).max()):g}")
    rad = np.deg2rad(arr) if degrees else arr
    return wrap(torch.from_numpy(rad)).numpy().astype(np.float32)


def to_file_coordinates(x: torch.Tensor, manifold: str, degrees: bool = False) -> np.ndarray:
    """Model coordinates back to the files' own: S^2 as (latitude, longitude) degrees, torus angles in the data's unit."""
    x = x.detach().cpu().double()
    if manifold == "sphere" and x.shape[1] == 3:
        return xyz_to_latlon(x).numpy()
    if manifold == "torus" and degrees:
        return np.rad2deg(x.numpy())
    return x.numpy()


class CurvedToyData(DataSource):
    """A built-in set on a curved space (one of CURVED_SETS), freshly drawn every call; `log_prob` its exact density."""

    def __init__(self, name: str):
        self.manifold, factory = CURVED_SETS[name]
        self.name, self.distribution = name, factory()
        self.shape = (3,) if self.manifold == "sphere" else (2,)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        return Batch(self.distribution.sample(n, generator).float())


class ManifoldSource(DataSource):
    """The base distribution of a manifold (uniform on a compact one), the source of its flows."""

    def __init__(self, manifold: str, shape: tuple[int, ...]):
        self.name, self.shape = manifold, tuple(shape)
        self.manifold = manifold_of(manifold, self.shape)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        return Batch(self.manifold.random_base(n, generator, dtype=torch.float32))


def manifold_of(name: str, shape: tuple[int, ...]):
    """The manifold `name` whose points have shape `shape` (the sphere S^d: d + 1 coordinates)."""
    if len(shape) != 1:
        raise FlowmatchError(f"--manifold {name} takes points of shape (D,), got data of shape {shape}")
    return make_manifold(name, shape[0] - 1 if name == "sphere" else shape[0])


def load_curved(spec: str, manifold: str, degrees: bool = False) -> DataSource:
    """A built-in curved set or a file of points on `manifold` (sphere or torus) -> DataSource."""
    if spec in CURVED_SETS:
        data = CurvedToyData(spec)
        if data.manifold != manifold:
            raise FlowmatchError(f"{spec!r} lives on the {data.manifold}; train it with --manifold {data.manifold}")
        return data
    if manifold not in CURVED:
        raise FlowmatchError(f"unknown manifold {manifold!r}; choose one of euclidean, {', '.join(CURVED)}")
    if spec in TOY_SETS:
        ours = ", ".join(k for k, (m, _) in CURVED_SETS.items() if m == manifold)
        raise FlowmatchError(f"{spec!r} is a flat 2D set; --manifold {manifold} takes a file of points on it or a built-in set ({ours})")
    table = read_table(spec)
    points = sphere_points(table, spec) if manifold == "sphere" else torus_points(table, degrees, spec)
    return ArrayData(points, name=spec)
