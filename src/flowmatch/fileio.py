"""The one atomic writer, and the one JSON-object reader with one-line errors.

A file is written to a uniquely named temporary file beside it, flushed and fsynced, renamed
over the target, and the directory is fsynced, so a process killed at any instant leaves the
old file or the new one, never half a file, and two writers never share a temporary name.
This module is the only file primitive of the library layer (used by the diffusers-style
scheduler's `save_config`); run directories are the application's (`flowmatch.runs`).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

from flowmatch.errors import FlowmatchError

_UMASK = os.umask(0)  # read once (os.umask can only be read by setting it); restored at once
os.umask(_UMASK)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some file systems do not open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call write(fh) on a temporary binary file beside `path`, then rename it to `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; the file gets what open() would give it
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a quota: the error names the file it was writing
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text (UTF-8) atomically."""
    return atomic_write(path, lambda fh: fh.write(text.encode()))


CONFIG_BYTES = 16 << 20  # a JSON, TOML or YAML config larger than this is not a config


def open_regular(path: str | Path) -> IO[bytes]:
    """`path` opened for binary reading if it is a regular file. It is opened without blocking, so
    a FIFO or a device named like a data file is refused at once instead of waiting forever."""
    if "\0" in str(path):
        raise FlowmatchError(f"file name {str(path)!r} holds a NUL character")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FlowmatchError(f"{path} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file (see `open_regular`); a file over `limit` bytes is refused."""
    with open_regular(path) as fh:
        data = fh.read() if limit is None else fh.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise FlowmatchError(f"{path} is larger than {limit:,} bytes: not a config file")
    return data


def read_json_object(path: str | Path, missing: str, what: str) -> dict[str, Any]:
    """The JSON object in `path`; a missing, unreadable, special or non-object file is a one-line error."""
    path = Path(path)
    try:
        raw = json.loads(read_regular(path, CONFIG_BYTES).decode())
    except FlowmatchError:
        raise
    except FileNotFoundError:
        raise FlowmatchError(missing) from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise FlowmatchError(f"corrupt {what} {path}") from None
    except OSError as exc:
        raise FlowmatchError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not isinstance(raw, dict):
        raise FlowmatchError(f"{what} {path} must hold a JSON object")
    return raw


__all__ = ["CONFIG_BYTES", "atomic_write", "atomic_write_text", "open_regular", "read_json_object", "read_regular"]
