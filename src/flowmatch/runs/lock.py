"""One writer per run directory: an advisory lock (fcntl) on RUN/.lock, refused at once if held.

The lock is re-entrant within a process (reflow trains the directory it has locked), and the
lock file is removed when the last holder releases it, so a run directory that was only read,
or whose command was refused, is left as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from flowmatch.errors import FlowmatchError
from flowmatch.runs.files import LOCK_FILE

_held: dict[str, tuple[int, int]] = {}  # real path of the lock file -> (fd, depth)


def _acquire(path: Path) -> None:
    key = os.path.realpath(path)
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise FlowmatchError(f"{path.parent} is being written by another process; wait for it to finish or choose another --out") from None
    # The holder before us may have unlinked the file after we opened it: then ours is stale.
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return _acquire(path)
    try:  # the holder's pid, for a person looking; a full disk must not leave the lock behind
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        pass
    _held[key] = (fd, 1)


def _release(path: Path) -> None:
    key = os.path.realpath(path)
    fd, depth = _held[key]
    if depth > 1:
        _held[key] = (fd, depth - 1)
        return
    del _held[key]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # while still holding the lock, so no one else holds this inode
    os.close(fd)


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold the write lock of `run_dir` (created if missing) for the duration of the block."""
    path = Path(run_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _acquire(path)
    try:
        yield
    finally:
        _release(path)


__all__ = ["LOCK_FILE", "run_lock"]
