"""The one parser of comma-separated integer lists ('1,2,2'), for options and flags alike."""

from __future__ import annotations

from typing import Sequence

from flowmatch.errors import FlowmatchError


def parse_int_list(text: str | Sequence[int], what: str, *, min_value: int | None = None, allow_empty: bool = False) -> tuple[int, ...]:
    """'1,2,2' (or a list of ints) -> (1, 2, 2); '' or 'none' -> () when allow_empty.

    `what` names the option in the one-line error.
    """
    if isinstance(text, (list, tuple)):
        items = [str(v) for v in text]
    elif str(text).strip().lower() in ("", "none"):
        items = []
    else:
        items = [s.strip() for s in str(text).split(",")]
    try:
        values = tuple(int(s) for s in items)
    except ValueError:
        raise FlowmatchError(f"{what} must be comma-separated integers like 1,2,4, got {text!r}") from None
    if not values and not allow_empty:
        raise FlowmatchError(f"{what} needs at least one integer, got {text!r}")
    if min_value is not None and values and min(values) < min_value:
        raise FlowmatchError(f"{what} must hold integers >= {min_value}, got {text!r}")
    return values
