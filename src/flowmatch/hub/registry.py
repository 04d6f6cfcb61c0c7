"""Pretrained models shipped in the package, one folder each under `flowmatch/pretrained/`.

A model is a folder `flowmatch/pretrained/NAME/` holding an export (`flowmatch export`):
model.safetensors, config.json, README.md (its model card, with the command that made it) and
samples.png. Adding a model is adding such a folder; `pretrained:NAME` loads it and
`flowmatch pretrained` lists it. Nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flowmatch.errors import FlowmatchError

PREFIX = "pretrained:"
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"


def pretrained_names() -> list[str]:
    """The packaged models' names, sorted."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "model.safetensors").is_file() and (p / "config.json").is_file())


def pretrained_folder(name: str) -> Path:
    """The folder of packaged model NAME; an unknown name is a one-line error listing the others."""
    names = pretrained_names()
    if name not in names:
        listed = ", ".join(PREFIX + n for n in names) or "none are installed"
        raise FlowmatchError(f"unknown pretrained model {PREFIX}{name}; choose one of: {listed}")
    return PRETRAINED_DIR / name


def describe_pretrained(name: str) -> dict[str, Any]:
    """One packaged model in a line: name, what it is, its data, shape, classes, sampler, size."""
    folder = pretrained_folder(name)
    try:
        meta = json.loads((folder / "config.json").read_text())
    except ValueError:
        raise FlowmatchError(f"corrupt config file {folder / 'config.json'}") from None
    rec = meta.get("recommended", {})
    return {
        "name": PREFIX + name,
        "description": meta.get("description", ""),
        "data": meta.get("data"),
        "data_shape": meta.get("data_shape"),
        "num_classes": meta.get("num_classes"),
        "model": meta.get("model"),
        "sampler": rec.get("solver", meta.get("sampler")),
        "steps": rec.get("steps"),
        "bytes": (folder / "model.safetensors").stat().st_size,
        "card": str(folder / "README.md"),
    }


__all__ = ["PREFIX", "PRETRAINED_DIR", "describe_pretrained", "pretrained_folder", "pretrained_names"]
