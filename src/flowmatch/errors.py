"""The one exception the toolkit raises for a user's mistake.

The CLI turns it into `error: <message>` on stderr and exit code 2; library users can catch it
(it is a ValueError) without parsing tracebacks.
"""


class FlowmatchError(ValueError):
    """Bad input: an unknown option, a malformed file, a corrupt checkpoint, ..."""


class NonFiniteError(FlowmatchError):
    """Training produced a NaN or infinite loss or weights."""
