"""Pictures kept between frames: remade when the settings change, when the flow changes while
stopped, and while training no more often than their interval and their share of the time allow."""

from __future__ import annotations

import time

from flowmatch.explore.frames import Kept


def test_kept_pictures_follow_settings_at_once_and_training_at_their_pace():
    made = []

    def make(cost=0.0):
        def f():
            time.sleep(cost)
            made.append(1)
            return len(made)

        return f

    k = Kept(interval=0.2)
    assert k.get((0, "a"), True, make()) == 1
    assert k.get((0, "a"), True, make()) == 1  # the same key: kept
    assert k.get((1, "a"), True, make()) == 1  # training moved on, but within the interval
    assert k.get((1, "b"), True, make()) == 2  # the settings changed: at once
    assert k.get((2, "b"), False, make()) == 3  # stopped: the newest flow at once
    time.sleep(0.25)
    assert k.get((3, "b"), True, make()) == 4  # training, after the interval

    costly = Kept(interval=0.0, share=0.25)
    costly.get((0,), True, make(0.1))  # a picture costing 0.1 s: remade at most every 0.4 s
    assert costly.get((1,), True, make()) == 5
    time.sleep(0.45)
    assert costly.get((2,), True, make()) == 6
