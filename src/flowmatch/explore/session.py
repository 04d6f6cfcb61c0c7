"""A session: one browser tab's flow, trained by the toolkit's `Trainer` on a worker thread.

The tab sends messages (its query string, reset, frame acknowledgements); the worker applies
them between training steps, so the trainer, its model and its frames are only ever touched by
that one thread. It trains with `Trainer.train_step()`, the same step `flowmatch train` takes,
and every `FRAME_INTERVAL` seconds draws a frame of the flow (`Frames`) and hands it to `emit`.

Flow control: the page acknowledges each frame once it has drawn it; with `MAX_IN_FLIGHT`
frames unacknowledged the worker keeps training but draws no more frames, so a slow or hidden
tab (browsers stop drawing hidden tabs) costs no frames nobody will see.

Resources: a tab that sends nothing of its own (no setting, no reset) for `idle_seconds` stops
training and frees its flow (model, optimiser, OT worker thread); a closed tab frees
everything at once; at most `max_training` tabs train at a time (`Slots`).
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from flowmatch.errors import FlowmatchError, NonFiniteError
from flowmatch.explore.flow import Flow, build_flow
from flowmatch.explore.frames import Frames
from flowmatch.explore.settings import DEFAULTS, DRAWN, Settings, decode_points, parse_query, to_query, training_key

FRAME_INTERVAL = 0.1  # seconds from one frame to the next while training: up to 10 per second
# ... but training gets at least this share of a frame's own cost between two frames, so that
# on a loaded CPU the flow still learns (frames slow down before training stops)
MIN_TRAIN_SHARE = 0.4
MAX_IN_FLIGHT = 2  # frames sent and not yet drawn by the page
STEP_SLICE = 0.25  # longest stretch of training steps between looks at the inbox (seconds)

Emit = Callable[[Any], None]  # bytes (a frame) or a dict (a JSON message); called on the worker thread


@dataclass(frozen=True)
class Limits:
    """max_training: tabs training at once; idle_seconds: quiet time before a tab's flow is freed;
    max_steps: training steps of one flow."""

    max_training: int = 4
    idle_seconds: float = 600.0
    max_steps: int = 50_000


class Slots:
    """Counts the tabs that are training, across all sessions (thread-safe)."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.used -= 1


def drawn_counts(settings: Settings) -> dict[str, int]:
    """How many drawn points each drawn side (data, source) of `settings` holds."""
    return {side: len(decode_points(getattr(settings, f"{side}_pts"), f"{side}_pts")) for side in ("data", "source") if getattr(settings, side) == DRAWN}


class Session:
    """One tab. `submit(message)` from any thread; `close()` ends the worker and frees the flow."""

    _ids = 0

    def __init__(self, emit: Emit, limits: Limits, slots: Slots):
        Session._ids += 1
        self.id = Session._ids
        self.emit, self.limits, self.slots = emit, limits, slots
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.settings: Settings = DEFAULTS
        self.flow: Flow | None = None
        self.frames: Frames | None = None
        self.flow_count = 0
        self.running = False
        self.in_flight = 0
        self.dirty = False  # a frame is owed for a change made while not training
        self.last_action = time.monotonic()
        self.next_frame = 0.0
        self.loss_sum, self.loss_count = 0.0, 0
        self.message = ""
        self.points: dict[str, int] = {}  # drawn points the server holds, per side
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._work, name=f"explore-tab-{self.id}", daemon=True)
        self.thread.start()

    # -- from the server ----------------------------------------------------------------------
    def submit(self, message: dict[str, Any]) -> None:
        self.inbox.put(message)

    def close(self, timeout: float = 10.0) -> None:
        self.inbox.put({"type": "close"})
        self.thread.join(timeout)

    def summary(self) -> dict[str, Any]:
        """What /api/status reports of this tab (read from other threads: plain values only)."""
        s, flow = self.settings, self.flow
        return {
            "id": self.id,
            "running": self.running,
            "step": flow.step if flow else 0,
            "has_flow": flow is not None,
            "data": s.data,
            "source": s.source,
            "drawn_points": dict(self.points),
            "query": to_query(s),
        }

    # -- the worker -------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            while not self.closed.is_set():
                try:
                    self._turn()
                except Exception as exc:  # a bug: log it, tell the tab, free its flow, keep serving
                    traceback.print_exc()
                    self._free()
                    self._error(f"internal error ({type(exc).__name__}: {exc}); the flow was freed, press Train to start again")
        finally:
            self._free()

    def _turn(self) -> None:
        """One turn of the worker: messages, idleness, a stretch of training, maybe a frame."""
        wait = not (self.running or (self.dirty and self.in_flight < MAX_IN_FLIGHT))
        self._handle_inbox(block=wait)
        if self.closed.is_set():
            return
        self._check_idle()
        if self.running:
            self._train()
        self._maybe_frame()

    def _handle_inbox(self, block: bool) -> None:
        try:
            first = self.inbox.get(timeout=1.0) if block else self.inbox.get_nowait()
        except queue.Empty:
            return
        messages = [first]
        while True:  # drain: a slider dragged fast sends many queries; only the last one matters
            try:
                messages.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        queries = [m for m in messages if m.get("type") == "query"]
        acted = False  # a setting or a reset: what keeps a tab from being idle (acks do not)
        for m in messages:
            kind = m.get("type")
            if kind == "close":
                self.closed.set()
                return
            if kind == "ack":
                n = m.get("n", 1)
                if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                    self.in_flight = max(0, self.in_flight - n)
                else:
                    self._error(f"ack: n must be a count of frames, got {n!r}")
            elif kind == "reset":
                acted = True
                if self._new_flow(self.settings):
                    self.message = "reset: a new flow from step 0"
            elif kind == "query" and m is queries[-1]:
                acted = True
                self._apply(str(m.get("query", "")))
            elif kind not in ("query", "ping"):
                self._error(f"unknown message type {kind!r}")
        if acted:  # counted from when the action is done: making a new flow can take a while
            self.last_action = time.monotonic()

    def _apply(self, query: str) -> None:
        """Take the tab's new query string: check it, make a new flow if a training setting
        changed, and start or stop training as `run` says. Bad settings change nothing."""
        try:
            new = parse_query(query)
        except FlowmatchError as exc:
            self._error(str(exc))
            return
        if (self.flow is None or training_key(new) != training_key(self.settings)) and not self._new_flow(new):
            return
        self.settings, self.message = new, ""
        self.points = drawn_counts(new)
        if new.run and not self.running:
            self._start()
        elif not new.run and self.running:
            self._stop()
            self.message = f"stopped at step {self.flow.step}"
        self.dirty = True

    def _new_flow(self, settings: Settings) -> bool:
        """Replace the flow by a fresh one for `settings` (the old one stays if the toolkit refuses them)."""
        try:
            flow = build_flow(settings, self.limits.max_steps)
        except FlowmatchError as exc:
            self._error(str(exc))
            return False
        running = self.running
        self._free()
        self.flow, self.flow_count = flow, self.flow_count + 1
        self.frames = Frames(flow, self.flow_count)
        self.loss_sum, self.loss_count = 0.0, 0
        self.dirty = True
        if running:  # a new flow of a training tab goes on training
            self._start()
        return True

    def _start(self) -> None:
        if self.flow.step >= self.limits.max_steps:
            self._error(f"this flow has trained its {self.limits.max_steps} steps; reset to start again")
            return
        if not self.slots.take():
            self._error(f"{self.slots.limit} tabs are training already (flowmatch explore --max-training); stop one and press Train again")
            return
        self.running = True
        self.next_frame = 0.0

    def _stop(self) -> None:
        if self.running:
            self.running = False
            self.slots.give()

    def _free(self) -> None:
        """Stop training and drop the flow (model, optimiser, EMA, OT worker thread)."""
        self._stop()
        if self.flow is not None:
            self.flow.close()
        self.flow, self.frames = None, None

    def _check_idle(self) -> None:
        if self.flow is not None and time.monotonic() - self.last_action > self.limits.idle_seconds:
            self._free()
            self.message = f"idle for {self.limits.idle_seconds:g} s: training stopped and the flow freed; press Train to start a new one"
            self.emit({"type": "status", "running": False, "idle": True, "message": self.message})

    def _train(self) -> None:
        """Training steps until a frame is due (and may be sent), a message waits, or STEP_SLICE."""
        flow, start = self.flow, time.monotonic()
        while self.running:
            try:
                loss = flow.trainer.train_step()
            except NonFiniteError as exc:
                self._stop()
                self._error(f"training stopped: {exc}")
                self.dirty = True
                return
            self.loss_sum, self.loss_count = self.loss_sum + loss, self.loss_count + 1
            if flow.step >= self.limits.max_steps:
                self._stop()
                self.message = f"finished: {flow.step} steps (the most one flow trains here)"
                self.dirty = True
                return
            now = time.monotonic()
            if (now >= self.next_frame and self.in_flight < MAX_IN_FLIGHT) or not self.inbox.empty() or now - start > STEP_SLICE:
                return

    def _maybe_frame(self) -> None:
        if self.flow is None or self.in_flight >= MAX_IN_FLIGHT:
            return
        now = time.monotonic()
        if not (self.dirty or (self.running and now >= self.next_frame)):
            return
        loss = (self.flow.step, self.loss_sum / self.loss_count) if self.loss_count else None
        self.loss_sum, self.loss_count = 0.0, 0
        status = {"message": self.message, "query": to_query(self.settings), "points": self.points}
        self.emit(self.frames.frame(self.settings, running=self.running, loss=loss, status=status))
        self.in_flight += 1
        self.dirty = False
        end = time.monotonic()
        cost = end - now
        self.next_frame = end + max(FRAME_INTERVAL - cost, MIN_TRAIN_SHARE * cost)

    def _error(self, message: str) -> None:
        self.emit({"type": "error", "message": message})


__all__ = ["FRAME_INTERVAL", "Limits", "MAX_IN_FLIGHT", "Session", "Slots"]
