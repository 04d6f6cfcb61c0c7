"""One tab's session, without a browser: it trains with the toolkit's Trainer on its own thread,
streams frames while the page keeps up, answers bad settings with a message and carries on,
stops, resets, frees its flow when idle or closed, and shares the training slots."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import pytest

from flowmatch.explore.protocol import decode_frame
from flowmatch.explore.session import Limits, Session, Slots
from flowmatch.explore.settings import encode_points
from flowmatch.training import Trainer

SMALL = "width=32&depth=2&batch=64&n=200"


class Tab:
    """A session with a page that draws every frame at once (acknowledges it) and keeps the messages."""

    def __init__(self, limits: Limits = Limits(), slots: Slots | None = None):
        self.items: queue.Queue = queue.Queue()
        self.session = Session(self.items.put, limits, slots or Slots(limits.max_training))
        self.errors: list[str] = []
        self.statuses: list[dict] = []
        self.flow, self.arrays = None, {}  # as the page: every array of the current flow

    def send(self, **message):
        self.session.submit(message)

    def query(self, q: str):
        self.send(type="query", query=q)

    def next_frame(self, timeout: float = 60.0):
        """The next frame's (header, arrays); errors and statuses on the way are kept."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(item, bytes):
                self.send(type="ack", n=1)
                header, arrays = decode_frame(item)
                if header["flow"] != self.flow:
                    self.flow, self.arrays = header["flow"], {}
                self.arrays.update(arrays)
                self.last_sent = set(arrays)
                return header, dict(self.arrays)
            (self.errors if item["type"] == "error" else self.statuses).append(item.get("message", ""))

    def frame_where(self, pred, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h, a = self.next_frame(deadline - time.monotonic())
            if pred(h):
                return h, a
        raise AssertionError("no such frame in time")

    def wait_error(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        n = len(self.errors)
        while len(self.errors) == n:
            try:
                self.next_frame(deadline - time.monotonic())
            except queue.Empty:
                break
        assert len(self.errors) > n, "no error message came"
        return self.errors[-1]

    def close(self):
        self.session.close()


@pytest.fixture
def tab():
    t = Tab()
    yield t
    t.close()


def test_trains_with_the_toolkits_trainer_and_streams_frames(tab):
    tab.query(f"data=moons&coupling=ot&{SMALL}&run=1")
    h, a = tab.frame_where(lambda h: h["step"] >= 30)
    assert h["running"] and isinstance(tab.session.flow.trainer, Trainer)
    assert a["traj"].shape == (9, 200, 2) and a["times"].shape == (9,) and a["field"].shape == (21 * 21, 2)
    assert h["nfe"] == 16 and h["w2"] > 0 and h["loss"][1] > 0
    h2, _ = tab.frame_where(lambda x: x["step"] > h["step"])
    assert h2["flow"] == h["flow"] and h2["seq"] > h["seq"]
    assert "ref" not in tab.last_sent and "field" in tab.last_sent  # the target points were sent once


def test_bad_settings_get_a_message_and_change_nothing(tab):
    tab.query(f"data=moons&{SMALL}&run=1")
    h, _ = tab.frame_where(lambda h: h["step"] > 5)
    for bad, words in [
        ("steps=100000", "between 1 and 64"),
        ("data=nosuch", "unknown data"),
        ("lr=abc", "expected a number"),
        ("data=drawn&data_pts=" + encode_points(np.zeros((4, 2))), "at least 10 points"),
    ]:
        tab.query(f"{SMALL}&run=1&{bad}")
        assert words in tab.wait_error()
    later, _ = tab.frame_where(lambda x: x["step"] > h["step"] + 5)  # still training the same flow
    assert later["flow"] == h["flow"] and later["steps"] == 8 and tab.session.settings.data == "moons"


def test_a_view_change_keeps_the_flow_and_a_training_change_makes_a_new_one(tab):
    tab.query(f"{SMALL}&run=1")
    h, _ = tab.frame_where(lambda h: h["step"] > 10)
    tab.query(f"{SMALL}&run=1&steps=3&solver=rk4&t=0.5")
    h2, a2 = tab.frame_where(lambda x: x["steps"] == 3)
    assert h2["flow"] == h["flow"] and h2["step"] >= h["step"] and a2["traj"].shape[0] == 4 and h2["nfe"] == 12
    tab.query(f"{SMALL}&run=1&steps=3&coupling=sinkhorn")
    h3, _ = tab.frame_where(lambda x: x["flow"] != h["flow"])
    assert h3["step"] < h2["step"] + 50 and tab.session.flow.trainer.config.coupling == "sinkhorn"


def test_stop_and_reset(tab):
    tab.query(f"{SMALL}&run=1")
    h, _ = tab.frame_where(lambda h: h["step"] > 5)
    tab.query(f"{SMALL}&run=0")
    stopped, _ = tab.frame_where(lambda x: not x["running"])
    assert "stopped at step" in stopped["status"]["message"]
    time.sleep(0.5)
    assert tab.session.flow.step == stopped["step"]  # no training while stopped
    tab.send(type="reset")
    fresh, _ = tab.frame_where(lambda x: x["flow"] != h["flow"])
    assert fresh["step"] == 0 and "reset" in fresh["status"]["message"]


def test_an_idle_tab_frees_its_flow_and_a_closed_one_everything():
    def ot_workers():
        return sum(t.name.startswith("flowmatch-finish") and t.is_alive() for t in threading.enumerate())

    before = ot_workers()
    tab = Tab(Limits(idle_seconds=1.0))
    try:
        tab.query(f"coupling=ot&{SMALL}&run=1")
        tab.frame_where(lambda h: h["step"] > 3)
        assert ot_workers() == before + 1  # the OT coupling's solver thread
        deadline = time.monotonic() + 30
        while tab.session.flow is not None and time.monotonic() < deadline:
            try:
                tab.next_frame(0.2)  # the page keeps drawing (acknowledging): that is not activity
            except queue.Empty:
                pass
        assert tab.session.flow is None and not tab.session.running and tab.session.slots.used == 0
        while not any("idle" in m for m in tab.statuses):
            tab.next_frame(5)
        assert ot_workers() == before
        tab.query(f"coupling=ot&{SMALL}&run=1")  # a new action starts a new flow
        h, _ = tab.frame_where(lambda h: h["running"])
        assert h["flow"] == 2
    finally:
        tab.close()
    assert not tab.session.thread.is_alive() and tab.session.flow is None


def test_training_slots_are_shared():
    slots = Slots(1)
    a, b = Tab(slots=slots), Tab(slots=slots)
    try:
        a.query(f"{SMALL}&run=1")
        a.frame_where(lambda h: h["running"])
        b.query(f"{SMALL}&run=1")
        assert "tabs are training already" in b.wait_error()
        a.query(f"{SMALL}&run=0")
        a.frame_where(lambda h: not h["running"])
        b.query(f"{SMALL}&run=1&seed=1")
        b.frame_where(lambda h: h["running"])
        assert slots.used == 1
    finally:
        a.close()
        b.close()
    assert slots.used == 0


def test_training_ends_at_max_steps():
    tab = Tab(Limits(max_steps=25))
    try:
        tab.query(f"{SMALL}&run=1")
        h, _ = tab.frame_where(lambda h: not h["running"] and h["step"] > 0)
        assert h["step"] == 25 and "finished" in h["status"]["message"]
    finally:
        tab.close()


def test_a_drawn_target_and_source_train(tab):
    rng = np.random.default_rng(0)
    ring = rng.normal(size=(200, 2))
    ring = 3 * ring / np.linalg.norm(ring, axis=1, keepdims=True)
    blob = rng.normal(size=(50, 2)) * 0.3
    tab.query(f"data=drawn&data_pts={encode_points(ring)}&source=drawn&source_pts={encode_points(blob)}&{SMALL}&run=1")
    h, a = tab.frame_where(lambda h: h["step"] > 10)
    assert h["status"]["points"] == {"data": 200, "source": 50}
    assert tab.session.summary()["drawn_points"] == {"data": 200, "source": 50}
    assert np.abs(a["traj"][0]).max() < 2.0  # particles start on the drawn source, not a Gaussian


@pytest.mark.parametrize(
    "view, keys", [("paths", {"cond", "marg"}), ("coupling", {"pairs_x0", "pairs_independent", "pairs_ot", "pairs_sinkhorn"}), ("density", {"density"}), ("guidance", {"plain", "guided"})]
)
def test_each_teaching_view_sends_its_arrays(tab, view, keys):
    tab.query(f"{SMALL}&view={view}&t=0.5")
    h, a = tab.frame_where(lambda h: h["view"] == view)
    assert keys <= set(a) and "error" not in h["view_info"]
    assert {f"cmp_{s}" for s in ("euler", "midpoint", "heun", "rk4")} <= set(a)  # stopped: every solver at once
    if view == "density":
        assert a["density"].shape == (32, 32) and np.isfinite(a["density"]).all()
    if view == "coupling":
        c = h["view_info"]["crossings"]
        assert c["ot"] < c["independent"]


def test_the_density_view_needs_the_gaussian_source(tab):
    tab.query(f"{SMALL}&view=density&source=8gaussians")
    h, a = tab.frame_where(lambda h: h["view"] == "density")
    assert "Gaussian source" in h["view_info"]["error"] and "density" not in a
