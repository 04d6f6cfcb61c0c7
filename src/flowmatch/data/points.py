"""User point clouds from .npy, .npz or .csv files of shape (N, D)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flowmatch.errors import FlowmatchError

POINT_SUFFIXES = (".npy", ".npz", ".csv")


def load_points(path: str | Path) -> np.ndarray:
    """(N, D) float32 array from a file; every malformed case is a one-line FlowmatchError."""
    p = Path(path)
    if not p.exists():
        raise FlowmatchError(f"data file not found: {p}")
    if p.suffix not in POINT_SUFFIXES:
        raise FlowmatchError(f"unsupported data file {p.name!r}: expected one of {', '.join(POINT_SUFFIXES)}")
    try:
        if p.suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if not z.files:
                    raise FlowmatchError(f"data file {p} holds no arrays")
                if "x" in z.files:
                    arr = z["x"]
                elif len(z.files) == 1:
                    arr = z[z.files[0]]
                else:  # which of several arrays is the data would be a guess
                    raise FlowmatchError(f"data file {p} holds arrays {', '.join(z.files)} and none named 'x'; name the data array x")
        else:
            arr = _read_csv(p)
    except FlowmatchError:
        raise
    except Exception as exc:  # numpy's own messages are long; name the file and the cause
        raise FlowmatchError(f"cannot read data file {p}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    return validate_points(arr, str(p))


def _read_csv(p: Path) -> np.ndarray:
    text = p.read_text(encoding="utf-8-sig").strip()  # utf-8-sig: a spreadsheet's byte-order mark is not data
    if not text:
        raise FlowmatchError(f"data file {p} is empty")
    lines = text.splitlines()
    try:
        float(lines[0].split(",")[0])
        skip = 0
    except ValueError:  # a header line
        skip = 1
    try:
        return np.loadtxt(lines[skip:], delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        raise FlowmatchError(f"data file {p} holds values that are not numbers") from None


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
    return arr.astype(np.float32)
