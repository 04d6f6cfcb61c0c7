"""The one progress bar of every command that can take more than a few seconds.

A tqdm bar on stderr, shown only when stderr is a terminal (never in logs, CI or the JSON that
commands print on stdout) and when not turned off (`--no-progress`). Its width is read once, so
it works in a terminal that reports none.
"""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int | None, desc: str, *, enabled: bool = True, unit: str = "it") -> Any:
    """A tqdm bar over `total` units (disabled off a terminal or when not `enabled`)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=None if enabled else True, mininterval=0.5, leave=False)


__all__ = ["progress_bar"]
