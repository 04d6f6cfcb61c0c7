"""The files of a run directory: names, config.json, config files given with --config, the log.

Every write goes through `flowmatch.fileio.atomic_write` (temporary file, fsync, rename).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import CONFIG_BYTES, atomic_write_text, read_json_object, read_regular
from flowmatch.options import build
from flowmatch.training import TrainConfig

CHECKPOINT = "checkpoint.pt"
# beside the last checkpoint, with --val-data: the one with the best validation figure, and that figure
BEST_CHECKPOINT, BEST_RECORD, VALIDATION_LOG = "best.pt", "best.json", "validation.jsonl"
CHECKPOINT_CHOICES = ("last", "best")
CONFIG_FILE = "config.json"
LOG_FILE = "log.jsonl"
PAIRS_FILE = "pairs.pt"
SAMPLE_DIR = "samples"
SOURCE_FILE = "source.npy"  # the source points of a two-sided run, so that it samples anywhere
LOCK_FILE = ".lock"
# What a run directory's commands write there (train, its loggers, reflow and the few-step recipe):
# no other command may write these names in a run directory.
RUN_FILES = (
    CHECKPOINT,
    CONFIG_FILE,
    LOG_FILE,
    PAIRS_FILE,
    SOURCE_FILE,
    LOCK_FILE,
    SAMPLE_DIR,
    BEST_CHECKPOINT,
    BEST_RECORD,
    VALIDATION_LOG,
    "tensorboard",
    "wandb",
    "reflow.json",
    "recipe.json",
    "base",
    "distill",
)
# An exported model folder (flowmatch.hub): weights, config, the source points, the card, a picture.
MODEL_FILE = "model.safetensors"
SOURCE_POINTS = "source.safetensors"
CARD_FILE = "README.md"
PICTURE = "samples.png"
EXPORT_FILES = (MODEL_FILE, CONFIG_FILE, SOURCE_POINTS, CARD_FILE, PICTURE)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Flat mapping of options from a .toml, .yaml/.yml or .json file (dashes in keys become underscores)."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"config file not found: {p}")
    if p.suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise FlowmatchError(f"config file {p.name!r} must end in .toml, .yaml, .yml or .json")
    try:
        text = read_regular(p, CONFIG_BYTES).decode()
        if p.suffix == ".toml":
            import tomllib

            raw = tomllib.loads(text)
        elif p.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text) or {}
        else:
            raw = json.loads(text)
    except FlowmatchError:
        raise
    except Exception as exc:
        raise FlowmatchError(f"cannot parse config file {p}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not isinstance(raw, dict):
        raise FlowmatchError(f"config file {p} must hold a table of options")
    return {str(k).replace("-", "_"): v for k, v in raw.items()}


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write a training config as JSON, atomically."""
    atomic_write_text(Path(path), json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True) + "\n")


def upgrade_config(raw: dict[str, Any]) -> dict[str, Any]:
    """A saved config as this version reads it. Runs written before the path options existed
    stored condot's sigma_min = 0 whatever the path; for the other paths it was never used."""
    if raw.get("path", "condot") != "condot" and raw.get("sigma_min") == 0.0 and "sigma_max" not in raw:
        raw = {**raw, "sigma_min": None}
    return raw


def load_config(path: str | Path) -> TrainConfig:
    """Read back what `save_config` wrote (a one-line error for a missing, corrupt or foreign file)."""
    p = Path(path)
    raw = read_json_object(p, missing=f"no config.json in run directory {p.parent}", what="config file")
    try:
        return build(TrainConfig, upgrade_config(raw))
    except FlowmatchError as exc:
        raise FlowmatchError(f"config file {p}: {exc}") from None


def truncate_log(log_path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (and a torn last line)."""
    if not log_path.exists():
        return
    kept = []
    for line in read_regular(log_path).decode(errors="replace").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    atomic_write_text(log_path, "".join(k + "\n" for k in kept))


__all__ = [
    "BEST_CHECKPOINT",
    "BEST_RECORD",
    "CARD_FILE",
    "CHECKPOINT",
    "CHECKPOINT_CHOICES",
    "CONFIG_FILE",
    "EXPORT_FILES",
    "LOCK_FILE",
    "LOG_FILE",
    "MODEL_FILE",
    "PAIRS_FILE",
    "PICTURE",
    "RUN_FILES",
    "SAMPLE_DIR",
    "SOURCE_FILE",
    "SOURCE_POINTS",
    "VALIDATION_LOG",
    "load_config",
    "read_config_file",
    "save_config",
    "truncate_log",
    "upgrade_config",
]
