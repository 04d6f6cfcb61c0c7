"""Preemption: SIGTERM, SIGHUP and SIGINT end training at the next step boundary, with a checkpoint.

Schedulers send SIGTERM (and SIGHUP when a terminal goes away) before they kill a job; Ctrl-C
sends SIGINT. While a run trains, each of them only sets a flag; the `StopOnSignal` callback
turns it into a stop after the current step, the checkpoint callback saves, and `train` raises
`RunInterrupted`, which the command line reports in one line with exit code 128 + signal.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from flowmatch.training import BaseCallback, Trainer

SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class RunInterrupted(Exception):
    """Training stopped on a signal after saving a checkpoint at `step`. resumable=False: the run
    was a stage of a chain (reflow, a recipe) that `--resume` does not take."""

    def __init__(self, signum: int, step: int, run_dir: str, resumable: bool = True):
        self.signum, self.step, self.run_dir, self.resumable = signum, step, run_dir, resumable
        what = "--resume continues" if resumable else "a chain of runs does not resume: start it again with a new --out"
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; the checkpoint in {run_dir} is saved, {what}")

    def in_a_chain(self) -> RunInterrupted:
        """The same stop, said of a stage of reflow or a recipe (no --resume)."""
        return RunInterrupted(self.signum, self.step, self.run_dir, resumable=False)


class StopOnSignal(BaseCallback):
    """Requests a stop after the step during which a signal arrived (all DDP ranks together)."""

    def __init__(self):
        self.signum = 0

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        if trainer.dist.any(self.signum != 0, trainer.device):
            trainer.request_stop("signal")


@contextlib.contextmanager
def catching_signals(callback: StopOnSignal) -> Iterator[None]:
    """Route SIGTERM/SIGHUP/SIGINT to `callback` for the block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        callback.signum = callback.signum or signum

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


__all__ = ["RunInterrupted", "SIGNALS", "StopOnSignal", "catching_signals"]
