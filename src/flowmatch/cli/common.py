"""What every command shares: the parser that prints one `error:` line, flags made from option
dataclasses, and argument types that refuse NaN, infinities and out-of-range numbers."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from typing import Any, Callable

from flowmatch.options import describe, field_type
from flowmatch.runs.sampling import MAX_SAMPLES  # --n beyond this is refused by the flag itself


class Parser(argparse.ArgumentParser):
    """argparse prints usage plus an error; we print the one line the contract promises."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def number(kind: type, *, min: float | None = None, min_open: bool = False, max: float | None = None) -> Callable[[str], Any]:
    """An argparse type: an int or a finite float, at least `min` (or above it if min_open), at most `max`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if kind is int and abs(value) >= 2**63:
            raise argparse.ArgumentTypeError(f"out of range, got {text}")
        if min is not None and (value < min or (min_open and value == min)):
            raise argparse.ArgumentTypeError(f"must be {'>' if min_open else '>='} {min:g}, got {text}")
        if max is not None and value > max:
            raise argparse.ArgumentTypeError(f"must be <= {max:g}, got {text}")
        return value

    parse.__name__ = "integer" if kind is int else "number"  # argparse names the type in its errors
    return parse


def add_progress_flag(p: argparse.ArgumentParser) -> None:
    """--no-progress: the progress bar (shown on a terminal only, on stderr) turned off."""
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar (one is shown on stderr when it is a terminal)")


def note_fewer(have: int, asked: int, what: str) -> None:
    """A note on stderr when a reference holds fewer points than --n asked for (all are used)."""
    if have < asked:
        sys.stderr.write(f"note: {what} holds {have} points, fewer than --n {asked}: all {have} are used\n")


def flag_of(f: dataclasses.Field) -> str:
    return describe(f).get("flag") or "--" + f.name.replace("_", "-")


def add_options(parser: argparse._ActionsContainer, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One flag per option field of `cls`: type, choices, help and default from its declaration.

    Defaults are suppressed, so that only the flags a user gives override a config file.
    """
    for f in dataclasses.fields(cls):
        meta = describe(f)
        if not meta or f.name in skip:
            continue
        base, _ = field_type(cls, f.name)
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        if base is bool:
            # a False default gets --X and --no-X: a preset or --config may have turned it on
            kw["action"] = "store_false" if f.default else "store_true" if meta.get("flag") else argparse.BooleanOptionalAction
            kw["help"] = meta["help"].replace("%", "%%")
        else:
            if base in (int, float):
                kw["type"] = number(base)  # ranges are checked by the config, which names the key
            if meta["choices"]:
                kw["choices"] = list(meta["choices"])
            default = "" if f.default is None else f" (default {f.default})"
            kw["help"] = (meta["help"] + default).replace("%", "%%")
        parser.add_argument(flag_of(f), **kw)


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The options of `cls` that were given on the command line."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}


__all__ = ["MAX_SAMPLES", "Parser", "add_options", "add_progress_flag", "note_fewer", "flag_of", "given", "number"]
