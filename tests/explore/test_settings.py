"""The explorer's query string: every setting parsed and checked in one place, with a message
that names the key for each kind of bad input (unknown key or name, non-number, out of range,
a drawing of fewer than 10 points); drawn points survive the URL."""

from __future__ import annotations

import numpy as np
import pytest

from flowmatch.explore.settings import DEFAULTS, MIN_POINTS, ExploreError, decode_points, describe, encode_points, parse_query, to_query, training_key


def test_the_issue_url_and_defaults():
    s = parse_query("?data=moons&coupling=ot&solver=midpoint&steps=4&run=1")
    assert (s.data, s.coupling, s.solver, s.steps, s.run) == ("moons", "ot", "midpoint", 4, True)
    assert s.path == DEFAULTS.path and s.t == 1.0
    assert parse_query("") == DEFAULTS


def test_to_query_round_trips_and_keeps_only_what_differs():
    s = parse_query("data=spirals&coupling=sinkhorn&steps=16&t=0.25&run=1&view=density&guidance=1.5&width=64")
    q = to_query(s)
    assert parse_query(q) == s
    assert "path=" not in q and "run=1" in q
    assert to_query(DEFAULTS) == ""


@pytest.mark.parametrize(
    "query, words",
    [
        ("data=nosuch", ["data", "unknown data 'nosuch'", "moons"]),
        ("coupling=exact", ["coupling", "choose one of", "ot"]),
        ("solver=dopri5", ["solver", "rk4"]),
        ("lr=abc", ["lr", "expected a number", "'abc'"]),
        ("width=1.5", ["width", "expected an integer"]),
        ("t=nan", ["t", "finite"]),
        ("lr=inf", ["lr", "finite"]),
        ("steps=100000", ["steps", "between 1 and 64", "100000"]),
        ("steps=0", ["steps", "between 1 and 64"]),
        ("t=1.5", ["t", "between 0 and 1"]),
        ("n=99999999999999999999", ["n", "between"]),
        ("colour=red", ["unknown setting 'colour'"]),
        ("data=moons&data=circles", ["data", "given twice"]),
        ("data=drawn", ["data=drawn needs a drawing", "10"]),
        ("data=drawn&data_pts=AAAAAA", ["data_pts", "at least 10 points, got 2"]),
        ("data_pts=!!!", ["data_pts", "base64"]),
        ("source_pts=AAAA", ["source_pts", "pairs of bytes"]),
        ("run=yes", ["run", "0, 1"]),
    ],
)
def test_bad_input_is_one_message_naming_the_key(query, words):
    with pytest.raises(ExploreError) as exc:
        parse_query(query)
    message = str(exc.value)
    assert "\n" not in message
    for w in words:
        assert w in message, (query, message)


def test_drawn_points_survive_the_url():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-4, 4, size=(300, 2)).astype(np.float32)
    back = decode_points(encode_points(pts))
    assert back.shape == (300, 2) and np.abs(back - pts).max() <= 0.02 + 1e-6  # half the grid step
    s = parse_query(f"data=drawn&data_pts={encode_points(pts)}")
    assert s.data == "drawn" and len(decode_points(s.data_pts)) == 300
    with pytest.raises(ExploreError, match=f"at least {MIN_POINTS} points, got 9"):
        parse_query(f"data=drawn&data_pts={encode_points(pts[:9])}")


def test_training_key_changes_only_with_training_settings():
    a = parse_query("data=moons&steps=4&t=0.5&view=coupling&run=1")
    assert training_key(a) == training_key(parse_query("data=moons&steps=32&solver=rk4"))
    assert training_key(a) != training_key(parse_query("data=moons&coupling=ot"))


def test_describe_lists_every_setting_for_the_page():
    d = describe()
    assert d["data"]["choices"][-1] == "drawn" and d["steps"]["max"] == 64 and d["run"]["default"] == 0
    assert set(d) >= {"data", "source", "path", "coupling", "width", "depth", "lr", "solver", "steps", "t", "view", "guidance", "run"}
