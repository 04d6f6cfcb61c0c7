"""The `flowmatch` command line: parses arguments and calls the library, nothing more.

Each command is a module with NAME, HELP, DESCRIPTION, `add_arguments(parser)` and `run(args)`.
Every user mistake ends with exit code 2 and one line `error: ...` on stderr.
"""

from __future__ import annotations

import importlib
import re
import sys

from flowmatch.cli.common import Parser

COMMANDS = ("train", "sample", "reflow", "plot", "eval", "likelihood", "classifier", "export", "pretrained", "demo", "explore")


def _module(name: str):
    return importlib.import_module(f"flowmatch.cli.{name}")


def build_parser() -> Parser:
    parser = Parser(prog="flowmatch", description="Train, sample, evaluate and plot flow-matching generative models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        mod = _module(name)
        mod.add_arguments(sub.add_parser(name, help=mod.HELP, description=mod.DESCRIPTION))
    return parser


def as_flags(message: str) -> str:
    """Library errors name parameters (sigma_max); on the command line they are flags (--sigma-max)."""
    import dataclasses

    from flowmatch.training import TrainConfig

    names = {f.name for f in dataclasses.fields(TrainConfig) if "_" in f.name}
    return re.sub(r"\b[a-z]+(?:_[a-z0-9]+)+\b", lambda m: "--" + m.group(0).replace("_", "-") if m.group(0) in names else m.group(0), message)


def main(argv: list[str] | None = None) -> int:
    from flowmatch.errors import FlowmatchError
    from flowmatch.runs.allocator import reuse_freed_memory
    from flowmatch.runs.signals import RunInterrupted

    args = build_parser().parse_args(argv)
    reuse_freed_memory()  # freed activations are reused rather than page-faulted back in (runs/allocator.py)
    try:
        return _module(args.command).run(args)
    except RunInterrupted as exc:  # SIGTERM, SIGHUP or SIGINT while training: saved, then stopped
        sys.stderr.write(f"error: {exc}\n")
        return 128 + exc.signum
    except FlowmatchError as exc:
        sys.stderr.write(f"error: {as_flags(str(exc))}\n")
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a file where a folder should be, ...
        where = f": {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"error: {exc.strerror or type(exc).__name__}{where}\n")
        return 2
    except MemoryError:
        sys.stderr.write("error: not enough memory for this request; ask for fewer samples or a smaller batch\n")
        return 2
    except RuntimeError as exc:
        if "memory" not in str(exc).lower():  # anything else is a bug: keep its traceback
            raise
        sys.stderr.write("error: not enough memory for this request; ask for fewer samples or a smaller batch\n")
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a training loop: nothing half-written (every write is atomic)
        trains = args.command in ("train", "demo") and not getattr(args, "recipe", None)
        sys.stderr.write("error: interrupted (the last checkpoint, if any, is kept; --resume continues)\n" if trains else "error: interrupted; no file was left half-written\n")
        return 130


__all__ = ["COMMANDS", "build_parser", "main"]
