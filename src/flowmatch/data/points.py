"""User point clouds from .npy, .npz or .csv files of shape (N, D), with optional labels and conditions.

- `.npy`: the points (N, D).
- `.npz`: the points as `x` (or the only array), optional integer class labels `y` (N,) and
  optional continuous conditions `c` (N, K) (or (N,)); other arrays are not read.
- `.csv`: one row per point; a header line is optional, and a header column named `label`
  holds integer class labels (the other columns are the point).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import open_regular

POINT_SUFFIXES = (".npy", ".npz", ".csv")
LABEL_COLUMN = "label"


@dataclass(frozen=True)
class PointSet:
    """x: (N, D) float32 points; y: (N,) int64 labels in 0..K-1 or None; c: (N, K) float32 conditions or None."""

    x: np.ndarray
    y: np.ndarray | None = None
    c: np.ndarray | None = None


def load_point_set(path: str | Path) -> PointSet:
    """Points, labels and conditions from a file; every malformed case is a one-line FlowmatchError."""
    p = Path(path)
    if not p.exists():
        raise FlowmatchError(f"data file not found: {p}")
    if p.suffix not in POINT_SUFFIXES:
        raise FlowmatchError(f"unsupported data file {p.name!r}: expected one of {', '.join(POINT_SUFFIXES)}")
    y = c = None
    try:
        with warnings.catch_warnings(), open_regular(p) as fh:
            warnings.simplefilter("error")  # numpy's warnings about the file become the one error line
            arr, y, c = _read_arrays(p, fh)
    except FlowmatchError:
        raise
    except Exception as exc:  # numpy's own messages are long; name the file and the cause
        raise FlowmatchError(f"cannot read data file {p}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    x = validate_points(arr, str(p))
    return PointSet(x, None if y is None else validate_labels(y, len(x), str(p)), None if c is None else validate_conditions(c, len(x), str(p)))


def _read_arrays(p: Path, fh: IO[bytes]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(points, labels or None, conditions or None) as stored in the open file `fh` named `p`."""
    y = c = None
    if p.suffix == ".npy":
        arr = np.load(fh, allow_pickle=False)
        if not isinstance(arr, np.ndarray):
            raise FlowmatchError(f"data file {p} is not an .npy array")
    elif p.suffix == ".npz":
        with np.load(fh, allow_pickle=False) as z:
            if not z.files:
                raise FlowmatchError(f"data file {p} holds no arrays")
            if "x" in z.files:
                arr = z["x"]
            elif len(z.files) == 1:
                arr = z[z.files[0]]
            else:  # which of several arrays is the data would be a guess
                raise FlowmatchError(f"data file {p} holds arrays {', '.join(z.files)} and none named 'x'; name the data array x")
            y = z["y"] if "y" in z.files and "x" in z.files else None
            c = z["c"] if "c" in z.files and "x" in z.files else None
    else:
        arr, y = _read_csv(p, fh.read())
    return arr, y, c


def load_condition_rows(path: str | Path, what: str = "--condition") -> np.ndarray:
    """Continuous conditions from an .npy file: (K,) for every sample or (M, K), one row each ->
    (M, K) float32; anything else (an .npz, pickled objects, NaN, values beyond float32) is one line."""
    p = Path(path)
    if p.suffix.lower() != ".npy":
        raise FlowmatchError(f"{what} takes an .npy file of shape (K,) or (M, K), got {p.name!r}")
    try:
        with warnings.catch_warnings(), open_regular(p) as fh:
            warnings.simplefilter("error")
            arr = np.load(fh, allow_pickle=False)
    except FileNotFoundError:
        raise FlowmatchError(f"{what} file not found: {p}") from None
    except FlowmatchError:
        raise
    except Exception as exc:  # not an .npy, or one that needs pickle
        raise FlowmatchError(f"cannot read {what} {p}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.size == 0:
        raise FlowmatchError(f"{what} {p} must hold numbers of shape (K,) or (M, K), got {getattr(arr, 'dtype', type(arr).__name__)} {tuple(getattr(arr, 'shape', ()))}")
    if not np.isfinite(arr).all():
        raise FlowmatchError(f"{what} {p} holds NaN or inf")
    check_float32_range(arr, f"{what} {p}")
    return np.atleast_2d(arr).astype(np.float32)


def load_points(path: str | Path) -> np.ndarray:
    """(N, D) float32 points of a file (its labels and conditions, if any, are not read)."""
    return load_point_set(path).x


def _read_csv(p: Path, raw: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(points, labels or None) of a CSV file's bytes; a header column named `label` holds the labels."""
    text = raw.decode("utf-8-sig").strip()  # utf-8-sig: a spreadsheet's byte-order mark is not data
    if not text:
        raise FlowmatchError(f"data file {p} is empty")
    lines = text.splitlines()
    header = lines[0].split(",")
    try:
        float(header[0])
        skip, names = 0, []
    except ValueError:  # a header line
        skip, names = 1, [h.strip().strip('"').lower() for h in header]
    if len(lines) <= skip:
        raise FlowmatchError(f"data file {p} holds a header and no rows")
    try:
        arr = np.loadtxt(lines[skip:], delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        raise FlowmatchError(f"data file {p} holds values that are not numbers") from None
    if LABEL_COLUMN not in names:
        return arr, None
    if names.count(LABEL_COLUMN) > 1:
        raise FlowmatchError(f"data file {p} has {names.count(LABEL_COLUMN)} columns named {LABEL_COLUMN!r}")
    col = names.index(LABEL_COLUMN)
    if arr.shape[1] != len(names):
        raise FlowmatchError(f"data file {p} has {len(names)} header columns but rows of {arr.shape[1]} values")
    return np.delete(arr, col, axis=1), arr[:, col]


def validate_points(arr: np.ndarray, what: str = "data") -> np.ndarray:
    """Check a (N, D) numeric array with finite values; return it as float32."""
    if arr.dtype.kind not in "biuf":
        raise FlowmatchError(f"{what} holds values that are not numbers (dtype {arr.dtype})")
    if arr.ndim != 2:
        raise FlowmatchError(f"{what} must have shape (N, D), got {tuple(arr.shape)}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise FlowmatchError(f"{what} is empty (shape {tuple(arr.shape)})")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise FlowmatchError(f"{what} holds NaN or inf in {bad} row(s)")
    check_float32_range(arr, what)
    return arr.astype(np.float32)


def check_float32_range(arr: np.ndarray, what: str) -> None:
    """Finite values that float32 cannot hold (|x| > 3.4e38) would become infinities: refused."""
    if arr.dtype.kind == "f" and arr.size and float(np.abs(arr).max()) > float(np.finfo(np.float32).max):
        raise FlowmatchError(f"{what} holds values beyond float32's range (|x| > {float(np.finfo(np.float32).max):.3g})")


def validate_labels(y: np.ndarray, n: int, what: str = "data") -> np.ndarray:
    """Check (n,) class labels: whole numbers >= 0 (classes 0..max); return them as int64."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise FlowmatchError(f"{what}: labels are not numbers (dtype {y.dtype})")
    if y.shape != (n,):
        raise FlowmatchError(f"{what}: labels must have shape ({n},), one per point, got {tuple(y.shape)}")
    if not np.isfinite(y).all() or (y != np.round(y)).any() or (y < 0).any():
        raise FlowmatchError(f"{what}: labels must be whole numbers >= 0 (class ids 0..K-1)")
    if y.max() >= 2**31:
        raise FlowmatchError(f"{what}: label {int(y.max())} is too large; number the classes 0..K-1")
    return y.astype(np.int64)


def validate_conditions(c: np.ndarray, n: int, what: str = "data") -> np.ndarray:
    """Check continuous conditions, (n,) or (n, K) finite numbers; return them as (n, K) float32."""
    c = np.asarray(c)
    if c.ndim == 1:
        c = c[:, None]
    if c.dtype.kind not in "biuf":
        raise FlowmatchError(f"{what}: conditions c are not numbers (dtype {c.dtype})")
    if c.ndim != 2 or c.shape[0] != n or c.shape[1] == 0:
        raise FlowmatchError(f"{what}: conditions c must have shape ({n}, K), one row per point, got {tuple(c.shape)}")
    if not np.isfinite(c).all():
        raise FlowmatchError(f"{what}: conditions c hold NaN or inf")
    check_float32_range(c, f"{what}: conditions c")
    return c.astype(np.float32)
