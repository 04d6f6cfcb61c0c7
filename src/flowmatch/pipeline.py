"""A prefetching batch pipeline: the next training batches are drawn, and their minibatch-OT
assignments solved, in worker threads while the optimiser steps on the current one.

A batch is made in two parts: `draw()` takes every random number from the run's generator (one
thread, batches in order), and `finish(batch)` is a pure function of the drawn batch (the exact
OT permutation), run for several batches at once in a small pool. scipy's
`linear_sum_assignment` and torch kernels release the GIL, so the solves overlap with the
training step and with each other.

Determinism: the generator sees the same draws in the same order as a synchronous loop, and the
state a checkpoint saves is the state right after the last *consumed* batch, so a prefetched run
gives the same batches (and resumes to the same batches) as `prefetch=0`.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generic, TypeVar

import torch

B = TypeVar("B")


def _identity(batch):
    return batch


class BatchPipeline(Generic[B]):
    """Batches finish(draw()) in draw order; `prefetch` of them in flight (0: synchronous)."""

    def __init__(
        self,
        draw: Callable[[], B],
        generator: torch.Generator,
        prefetch: int = 1,
        finish: Callable[[B], B] = _identity,
        workers: int = 2,
    ):
        self.draw, self.finish, self.generator = draw, finish, generator
        self.prefetch, self.workers = int(prefetch), max(1, int(workers))
        self._draw_pool: ThreadPoolExecutor | None = None
        self._finish_pool: ThreadPoolExecutor | None = None
        self._queue: deque[Future] = deque()
        self._state_consumed: torch.Tensor | None = None  # generator state after the last batch handed out

    def _job(self) -> tuple[Future, torch.Tensor]:
        batch = self.draw()
        state = self.generator.get_state()
        return self._finish_pool.submit(self.finish, batch), state

    def _fill(self) -> None:
        if self._draw_pool is None:
            self._draw_pool = ThreadPoolExecutor(1, thread_name_prefix="flowmatch-draw")
            self._finish_pool = ThreadPoolExecutor(self.workers, thread_name_prefix="flowmatch-finish")
        if not self._queue:
            self._state_consumed = self.generator.get_state()  # nothing in flight: the true state
        while len(self._queue) < self.prefetch + 1:
            self._queue.append(self._draw_pool.submit(self._job))

    def next(self) -> B:
        """The next batch; the ones after it are being drawn and finished before this returns."""
        if self.prefetch <= 0:
            return self.finish(self.draw())
        self._fill()
        finished, state = self._queue.popleft().result()
        self._state_consumed = state
        self._fill()
        return finished.result()

    def generator_state(self) -> torch.Tensor:
        """The generator state after the last consumed batch (what a checkpoint must save)."""
        if self._queue:
            return self._state_consumed
        return self.generator.get_state()

    def reset(self) -> None:
        """Drop the batches in flight and rewind the generator to just after the last consumed one."""
        if self._queue:
            for fut in self._queue:
                fut.result()[0].result()
            self._queue.clear()
            self.generator.set_state(self._state_consumed)

    def close(self) -> None:
        """Rewind past the batches in flight (the generator reads as if synchronous); stop the workers."""
        self.reset()
        for pool in (self._draw_pool, self._finish_pool):
            if pool is not None:
                pool.shutdown(wait=True)
        self._draw_pool = self._finish_pool = None


__all__ = ["BatchPipeline"]
