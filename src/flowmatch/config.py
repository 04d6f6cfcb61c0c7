"""Command configs as dataclasses: defaults < a TOML/YAML file < explicit overrides.

Each command has one dataclass (e.g. `training.TrainConfig`); `build_config` fills it and
`save_config` writes it to the run directory as JSON so that later commands need nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Mapping, TypeVar

from flowmatch.errors import FlowmatchError

C = TypeVar("C")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Flat mapping from a .toml, .yaml/.yml or .json file (dashes in keys become underscores)."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"config file not found: {p}")
    text = p.read_text()
    try:
        if p.suffix == ".toml":
            import tomllib

            raw = tomllib.loads(text)
        elif p.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text) or {}
        elif p.suffix == ".json":
            raw = json.loads(text)
        else:
            raise FlowmatchError(f"config file {p.name!r} must end in .toml, .yaml, .yml or .json")
    except FlowmatchError:
        raise
    except Exception as exc:
        raise FlowmatchError(f"cannot parse config file {p}: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise FlowmatchError(f"config file {p} must hold a table of options")
    return {str(k).replace("-", "_"): v for k, v in raw.items()}


def build_config(cls: type[C], *layers: Mapping[str, Any] | None) -> C:
    """cls() updated by each layer in turn; unknown keys are a one-line error."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if key not in names:
                raise FlowmatchError(f"unknown option {key!r} for {cls.__name__}")
            values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise FlowmatchError(str(exc)) from None


def save_config(config: Any, path: str | Path) -> None:
    """Write a config dataclass as JSON, atomically."""
    atomic_write_text(Path(path), json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True) + "\n")


def load_config(cls: type[C], path: str | Path) -> C:
    """Read back what `save_config` wrote (keys the class no longer knows are dropped)."""
    p = Path(path)
    raw = read_json_object(p, missing=f"no config.json in run directory {p.parent}", what="config file")
    known = {f.name for f in dataclasses.fields(cls)}
    return build_config(cls, {k: v for k, v in raw.items() if k in known})


def read_json_object(path: Path, missing: str, what: str) -> dict[str, Any]:
    """The JSON object in `path`; a missing, unreadable or non-object file is a one-line error."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FlowmatchError(missing) from None
    except (ValueError, UnicodeDecodeError):
        raise FlowmatchError(f"corrupt {what} {path}") from None
    if not isinstance(raw, dict):
        raise FlowmatchError(f"{what} {path} must hold a JSON object")
    return raw


def atomic_write_text(path: Path, text: str) -> None:
    """Write then rename, so a crash never leaves a half-written file behind."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
