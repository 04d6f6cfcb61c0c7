"""Presets: named sets of training options kept as TOML files.

`images` holds the defaults of image data sets: `TrainConfig` applies it to every option not
given when its data are images, so `flowmatch train --data mnist` and
`TrainConfig(data="mnist")` train alike. `images-few-step` adds to it for the few-step recipe;
`cifar10` and `cifar10-few-step` are chosen with `--preset NAME`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from flowmatch.errors import FlowmatchError

FOLDER = Path(__file__).resolve().parent
PRESETS = tuple(sorted(p.stem for p in FOLDER.glob("*.toml")))


def load_preset(name: str) -> dict[str, Any]:
    """The options of preset `name` (a mapping of config keys)."""
    if name not in PRESETS:
        raise FlowmatchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return tomllib.loads((FOLDER / f"{name}.toml").read_text())


__all__ = ["PRESETS", "load_preset"]
