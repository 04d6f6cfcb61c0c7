"""Presets: training options kept as TOML files, a layer below --config and the flags.

`images` is applied by `flowmatch train` to image data sets unless the flags or --config say
otherwise; `images-few-step` adds to it for `--recipe few-step`; `cifar10` and `cifar10-few-step`
are chosen with `--preset NAME`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowmatch.errors import FlowmatchError
from flowmatch.runs import read_config_file

FOLDER = Path(__file__).resolve().parent
PRESETS = tuple(sorted(p.stem for p in FOLDER.glob("*.toml")))


def load_preset(name: str) -> dict[str, Any]:
    """The options of preset `name` (a mapping of config keys)."""
    if name not in PRESETS:
        raise FlowmatchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return read_config_file(FOLDER / f"{name}.toml")


__all__ = ["PRESETS", "load_preset"]
