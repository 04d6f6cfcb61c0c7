"""Options: config dataclasses whose fields declare their default, help, choices and range once.

Each package owns a small frozen dataclass of its options (`PathConfig` in `flowmatch.paths`,
`CouplingConfig` in `flowmatch.couplings`, ...). A field is made with `option(...)`; from that
one declaration come the dataclass default, the command-line flag and its `--help` text, the
config-file key, and the checks `check_options` runs when an instance is made. The training
config inherits several such dataclasses into one flat config, so that config files and flags
stay flat while each field is still declared in the package it belongs to. `build` makes a
config from a mapping, refusing unknown keys and values of the wrong type.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Mapping, Sequence, TypeVar

from flowmatch.errors import FlowmatchError

C = TypeVar("C")


def option(
    default: Any,
    help: str,
    *,
    choices: Sequence[str] | None = None,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    max_open: bool = False,
    flag: str | None = None,
) -> Any:
    """A dataclass field with its help, allowed choices and range [min, max] (open ends optional).

    `flag` names the command-line flag when it is not the field name with dashes.
    """
    meta = {"help": help, "choices": tuple(choices) if choices is not None else None, "min": min, "max": max, "min_open": min_open, "max_open": max_open, "flag": flag}
    return dataclasses.field(default=default, metadata={"option": meta})


def describe(f: dataclasses.Field) -> dict[str, Any]:
    """The option metadata of a field (help, choices, min, max, ...), empty for plain fields."""
    return dict(f.metadata.get("option", {}))


def field_type(cls: type, name: str) -> tuple[type, bool]:
    """(base type, may be None) of a config field, from its annotation."""
    hint = typing.get_type_hints(cls)[name]
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    return base, optional


def coerce(cls: type, name: str, value: Any) -> Any:
    """value checked against the field's type: ints stay ints (1.5 and True are refused), ints
    are accepted as floats, NaN and infinities are refused; a one-line error names the key."""
    base, optional = field_type(cls, name)
    key = name
    if value is None:
        if optional:
            return None
        raise FlowmatchError(f"option {key} needs a value")
    if base is bool:
        if isinstance(value, bool):
            return value
        raise FlowmatchError(f"option {key} must be true or false, got {value!r}")
    if base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 2**63:  # beyond int64: no tensor, seed or step count can hold it
                raise FlowmatchError(f"option {key} is out of range, got {value}")
            return value
        raise FlowmatchError(f"option {key} must be an integer, got {value!r}")
    if base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise FlowmatchError(f"option {key} must be a finite number, got {value!r}")
            return float(value)
        raise FlowmatchError(f"option {key} must be a number, got {value!r}")
    if base is str:
        if isinstance(value, str):
            return value
        raise FlowmatchError(f"option {key} must be a string, got {value!r}")
    return value  # pragma: no cover - every config field is one of the types above


def check_options(obj: Any) -> None:
    """Type, choices and range of every option field of a config instance (one-line errors)."""
    cls = type(obj)
    for f in dataclasses.fields(cls):
        meta = describe(f)
        if not meta:
            continue
        value = coerce(cls, f.name, getattr(obj, f.name))
        if value is None:
            continue
        key = f.name
        if meta["choices"] is not None and value not in meta["choices"]:
            raise FlowmatchError(f"unknown {key} {value!r}; choose one of {', '.join(meta['choices'])}")
        lo, hi = meta["min"], meta["max"]
        if lo is not None and (value < lo or (meta["min_open"] and value == lo)):
            raise FlowmatchError(f"{key} must be {'>' if meta['min_open'] else '>='} {lo:g}, got {value}")
        if hi is not None and (value > hi or (meta["max_open"] and value == hi)):
            raise FlowmatchError(f"{key} must be {'<' if meta['max_open'] else '<='} {hi:g}, got {value}")


def build(cls: type[C], *layers: Mapping[str, Any] | None) -> C:
    """cls() updated by each mapping in turn ('-' in keys read as '_'); unknown keys and values
    of the wrong type are one-line errors naming the key."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            k = str(key).replace("-", "_")
            if k not in names:
                raise FlowmatchError(f"unknown option {str(key)!r}")
            values[k] = coerce(cls, k, value)
    return cls(**values)


def section(config: Any, cls: type[C]) -> C:
    """The `cls` part of a composed config (or of any object with those attributes)."""
    return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})


__all__ = ["option", "describe", "coerce", "check_options", "build", "section", "field_type"]
