"""The one check of every path a command writes, made before anything is written.

A path is refused when it is empty, lacks the suffix its flag promises, is a directory where a
file is written (or the other way round) or a FIFO or device, or is (or is inside) one of the
files of a run directory or an exported model folder (`RUN_FILES`, `EXPORT_FILES`), unless the
command owns that run directory (`owner`: train, reflow and the recipes write their own run).
Symbolic links are followed: a link to a checkpoint is the checkpoint.
"""

from __future__ import annotations

import stat
from pathlib import Path

from flowmatch.errors import FlowmatchError
from flowmatch.runs.files import CHECKPOINT, CONFIG_FILE, EXPORT_FILES, LOG_FILE, MODEL_FILE, RUN_FILES


def _is_run(folder: Path) -> bool:
    return (folder / CHECKPOINT).exists() or (folder / LOG_FILE).exists() or ((folder / CONFIG_FILE).exists() and not (folder / MODEL_FILE).exists())


def _is_export(folder: Path) -> bool:
    return (folder / MODEL_FILE).exists()


def protected_names(folder: Path) -> tuple[str, ...]:
    """The names in `folder` that belong to the run or exported model it holds (none if neither)."""
    return (RUN_FILES if _is_run(folder) else ()) + (EXPORT_FILES if _is_export(folder) else ())


def check_output(path: str | Path | None, flag: str, *, suffixes: tuple[str, ...] = (), directory: bool = False, owner: str | Path | None = None, inputs: tuple[str | Path | None, ...] = ()) -> Path:
    """`path` as a Path if a command may write it (a file, or with directory=True a folder); else
    a one-line error naming `flag`. suffixes: those a file must end in (with the dot); inputs:
    files the command reads, which its output must not replace."""
    text = "" if path is None else str(path)
    if not text.strip():
        raise FlowmatchError(f"{flag} is empty; give a {'directory' if directory else 'file'} to write")
    if "\0" in text:
        raise FlowmatchError(f"{flag} holds a NUL character: {text!r}")
    p = Path(text)
    if suffixes and p.suffix not in suffixes:
        raise FlowmatchError(f"{flag} must end in {' or '.join(suffixes)}, got {p.name!r}")
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # a path through a file, a name too long, ...
        raise FlowmatchError(f"{flag} {p}: {exc.strerror or type(exc).__name__}") from None
    if mode is not None:
        if directory and not stat.S_ISDIR(mode):
            raise FlowmatchError(f"{flag} {p} is a file, not a directory")
        if not directory and stat.S_ISDIR(mode):
            raise FlowmatchError(f"{flag} {p} is a directory; give a file name")
        if not directory and not stat.S_ISREG(mode):
            raise FlowmatchError(f"{flag} {p} is not a regular file")
    real = p.resolve()
    for given in inputs:
        if given is not None and str(given).strip() and Path(given).resolve() == real:
            raise FlowmatchError(f"{flag} {p} is also another file of this command (one it reads or writes); choose another {flag}")
    mine = Path(owner).resolve() if owner is not None else None
    if mine is not None and real == mine and _is_export(real) and not (real / CHECKPOINT).exists():
        raise FlowmatchError(f"{flag} {p} is an exported model folder, not a run directory; choose another {flag}")
    for folder in real.parents:
        if folder == mine:
            continue
        names = protected_names(folder)
        first = real.relative_to(folder).parts[0]
        if first in names:
            what = "an exported model" if first in EXPORT_FILES and _is_export(folder) else "a run"
            raise FlowmatchError(f"{flag} {p} would overwrite {first} of {what} in {folder}; choose another {flag}")
    return p


def check_output_dir(folder: str | Path | None, flag: str, names: tuple[str, ...]) -> Path:
    """A folder a command writes the files `names` into (plot, eval's sweep): each checked as above."""
    out = check_output(folder, flag, directory=True)
    for name in names:
        check_output(out / name, flag)
    return out


__all__ = ["check_output", "check_output_dir", "protected_names"]
