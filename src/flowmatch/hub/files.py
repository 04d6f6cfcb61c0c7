"""The exported folder, Hub-style: weights in safetensors, `config.json`, a model card.

    model.safetensors    the sampling weights (EMA by default), tensors only
    config.json          everything sampling needs: data shape and class count, the model and
                         its options, the path and its parameters, the source, the sampler, and
                         the run's full training config (how it was made)
    source.safetensors   a two-sided run from a file: its source points
    README.md            the model card (flowmatch.hub.card)
    samples.png          a picture of samples

No file of an export is a pickle: safetensors holds tensors and a JSON header only, and
nothing in the folder can run code when it is read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import Tensor

from flowmatch.data import MIXTURE_SOURCE, TOY_SETS, MixtureSource
from flowmatch.errors import FlowmatchError
from flowmatch.fileio import _UMASK, atomic_write, atomic_write_text, read_json_object, read_regular
from flowmatch.options import build
from flowmatch.paths import PathConfig
from flowmatch.runs import Run
from flowmatch.runs.checkpoint import MAX_DATA_ELEMENTS, valid_data_shape
from flowmatch.runs.files import CARD_FILE, CONFIG_FILE, MODEL_FILE, PICTURE, SOURCE_POINTS
from flowmatch.runs.outputs import check_output
from flowmatch.runs.recommend import card_recommendation
from flowmatch.training import TrainConfig

FORMAT_VERSION = 1
LIBRARY = "flowmatch"


def _safetensors():
    try:
        import safetensors.torch as st
    except ImportError:  # pragma: no cover - a core dependency
        raise FlowmatchError("exported models need the safetensors package: pip install safetensors") from None
    return st


def save_tensors(tensors: dict[str, Tensor], path: Path) -> Path:
    """Tensors (contiguous CPU copies, no shared storage) to a safetensors file, atomically. The
    header's metadata is the one key transformers and diffusers expect, so that the same weights
    give the same bytes (safetensors writes several metadata keys in no fixed order)."""
    st = _safetensors()
    plain = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    blob = st.save(plain, metadata={"format": "pt"})
    return atomic_write(path, lambda fh: fh.write(blob))


def load_tensors(path: Path) -> dict[str, Tensor]:
    """The tensors of a safetensors file; a missing or corrupt file is a one-line error."""
    st = _safetensors()
    if not path.is_file():
        raise FlowmatchError(f"no {path.name} in {path.parent}")
    try:
        return st.load(read_regular(path))
    except FlowmatchError:
        raise
    except Exception as exc:  # safetensors raises its own error types for a damaged header or body
        raise FlowmatchError(f"corrupt weights file {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def source_is_data_file(config: TrainConfig) -> bool:
    """A two-sided run whose source is a file: the points travel with the model."""
    return config.source not in ("gaussian", MIXTURE_SOURCE) and config.source not in TOY_SETS


def export_config(run: Run, weights: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """config.json of an export: the sampling essentials as plain keys, then the training config."""
    c = run.config
    path_options = {k: v for k, v in dataclasses.asdict(c.part(PathConfig)).items() if k != "path"}
    return {
        "library_name": LIBRARY,
        "format_version": FORMAT_VERSION,
        "data": c.data,
        "data_shape": list(run.data.shape),
        "num_classes": int(run.data.num_classes),
        "model": c.model,
        "model_options": c.model_options(),
        "path": c.path,
        "path_options": path_options,
        "source": c.source,
        # a discrete run has no Gaussian source (no source_scale); its vocabulary travels with it (and its characters, for text)
        **({"vocab_size": run.path.vocab_size, "vocabulary": getattr(run.data, "vocabulary", None)} if run.discrete else {"source_scale": float(run.path.schedule.source_scale)}),
        "sampler": c.sampler,
        "weights": weights,
        "step": int(run.step),
        **(extra or {}),
        "training": dataclasses.asdict(c),
    }


def write_export_files(run: Run, folder: Path, weights: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """model.safetensors, config.json (and source.safetensors) of `run` into `folder`."""
    meta = export_config(run, weights, extra)
    save_tensors(run.model.state_dict(), folder / MODEL_FILE)
    if source_is_data_file(run.config) and hasattr(run.source, "points"):
        save_tensors({"points": run.source.points}, folder / SOURCE_POINTS)
    if isinstance(run.source, MixtureSource):  # a fitted source: its parameters travel with the model
        save_tensors(run.source.tensors(), folder / SOURCE_POINTS)
    atomic_write_text(folder / CONFIG_FILE, json.dumps(meta, indent=2, sort_keys=False) + "\n")
    return meta


MAX_CLASSES = 100_000
TEXT_KEYS = ("name", "description")


def _check_plain_keys(raw: dict[str, Any], where: Path) -> None:
    """Each plain key of an export's config.json typed and ranged (the training options are
    checked by their own declarations)."""
    shape = raw.get("data_shape")
    if not valid_data_shape(shape):
        raise FlowmatchError(f"{where}: data_shape must be a list such as (D,) or (C, H, W) of positive integers with at most {MAX_DATA_ELEMENTS:,} values, got {str(shape)[:60]}")
    k = raw.get("num_classes")
    if type(k) is not int or not 0 <= k <= MAX_CLASSES:
        raise FlowmatchError(f"{where}: num_classes must be an integer from 0 to {MAX_CLASSES:,}")
    if "step" in raw and (type(raw["step"]) is not int or not 0 <= raw["step"] < 2**62):
        raise FlowmatchError(f"{where}: step must be a non-negative integer")
    if "weights" in raw and raw["weights"] not in ("ema", "model"):
        raise FlowmatchError(f"{where}: weights must be 'ema' or 'model'")
    for key in TEXT_KEYS:
        if key in raw and not (isinstance(raw[key], str) and len(raw[key]) <= 10_000):
            raise FlowmatchError(f"{where}: {key} must be a string")
    if "source_scale" in raw and not (type(raw["source_scale"]) in (int, float) and math.isfinite(raw["source_scale"]) and raw["source_scale"] > 0):
        raise FlowmatchError(f"{where}: source_scale must be a finite number > 0")
    if not isinstance(raw.get("recommended", {}), dict):
        raise FlowmatchError(f"{where}: recommended must be a JSON object")
    try:
        card_recommendation(raw)  # the one check of a card's sampler (as sampling applies it)
    except FlowmatchError as exc:
        raise FlowmatchError(f"{where}: {exc}") from None


def read_export_config(folder: Path) -> tuple[dict[str, Any], TrainConfig]:
    """(raw config.json, the TrainConfig it describes); the plain keys win over `training`."""
    path = folder / CONFIG_FILE
    raw = read_json_object(path, missing=f"no {CONFIG_FILE} in {folder}", what="config file")
    if raw.get("library_name") != LIBRARY:
        raise FlowmatchError(f"{path} is not a flowmatch export (library_name {raw.get('library_name')!r})")
    if type(raw.get("format_version")) is not int or raw["format_version"] > FORMAT_VERSION:
        raise FlowmatchError(f"{path} has format_version {raw.get('format_version')!r}; this flowmatch reads up to {FORMAT_VERSION} (upgrade flowmatch)")
    _check_plain_keys(raw, path)
    training = raw.get("training", {})
    model_options, path_options = raw.get("model_options", {}), raw.get("path_options", {})
    if not all(isinstance(x, dict) for x in (training, model_options, path_options)):
        raise FlowmatchError(f"{path}: training, model_options and path_options must be JSON objects")
    if not (type(raw.get("vocab_size", 0)) is int and raw.get("vocab_size", 0) >= 0 and (raw.get("vocabulary") is None or isinstance(raw["vocabulary"], str))):
        raise FlowmatchError(f"{path}: vocab_size must be a non-negative integer and vocabulary a string")
    plain = {k: raw[k] for k in ("data", "model", "path", "source", "sampler") if k in raw}
    try:
        config = build(TrainConfig, training, plain, model_options, path_options)
    except FlowmatchError as exc:
        raise FlowmatchError(f"config file {path}: {exc}") from None
    return raw, config


def read_source_points(folder: Path, config: TrainConfig) -> Tensor | None:
    if not source_is_data_file(config):
        return None
    f = folder / SOURCE_POINTS
    if not f.is_file():
        return None  # the source file itself is read, if it is where it was
    points = load_tensors(f).get("points")
    if points is None or points.ndim != 2 or not bool(torch.isfinite(points).all()):
        raise FlowmatchError(f"{f} must hold finite source points of shape (N, D) under the key 'points'")
    return points


def read_source_mixture(folder: Path, config: TrainConfig) -> dict[str, Tensor] | None:
    """The parameters of a fitted source (`--source mixture`) kept in an export, or None for other sources."""
    if config.source != MIXTURE_SOURCE:
        return None
    f = folder / SOURCE_POINTS
    if not f.is_file():
        raise FlowmatchError(f"{folder} is a flow from a fitted source mixture but holds no {SOURCE_POINTS}: it is damaged")
    return load_tensors(f)


def check_new_folder(out: Path) -> None:
    """--out must not exist, or be an empty directory (and not be inside a run's or export's own files)."""
    check_output(out, "--out", directory=True)
    if out.is_dir() and any(out.iterdir()):
        raise FlowmatchError(f"--out {out} is not empty; an export is written to a new folder (choose another --out)")


@contextlib.contextmanager
def new_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out`, renamed to `out` when the block ends without error."""
    check_new_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
        check_new_folder(out)  # still free: nothing else wrote there meanwhile
        tmp.chmod(0o777 & ~_UMASK)  # mkdtemp makes 0700; the folder gets what mkdir would give it
        tmp.replace(out)  # an empty directory is replaced atomically; none is created otherwise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


__all__ = [
    "check_new_folder",
    "new_folder",
    "CARD_FILE",
    "CONFIG_FILE",
    "MODEL_FILE",
    "PICTURE",
    "SOURCE_POINTS",
    "export_config",
    "load_tensors",
    "read_export_config",
    "read_source_mixture",
    "read_source_points",
    "save_tensors",
    "write_export_files",
]
