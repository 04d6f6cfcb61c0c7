"""`flowmatch explore` as a process: it serves the page and its files from the package (no CDN)
on 127.0.0.1, one WebSocket per tab, answers bad messages with a message and keeps serving,
refuses other hosts and other sites' pages, frees a closed or idle tab, and stops cleanly on
Ctrl-C or SIGTERM. The command line refuses bad flags with one line."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import sys
import time
from urllib.parse import urlsplit

import pytest

pytest.importorskip("starlette", reason="flowmatch[explore] is not installed (pip install 'flowmatch[explore]')")
pytest.importorskip("uvicorn", reason="flowmatch[explore] is not installed")
ws_client = pytest.importorskip("websockets.sync.client", reason="the websockets package is not installed")
from websockets.exceptions import ConnectionClosed, InvalidStatus

from flowmatch.explore.protocol import decode_frame
from flowmatch.explore.server import STATIC
from helpers import cli, explore_server, fails_cleanly

SMALL = "width=32&depth=2&batch=64&n=200"


def get(url: str, path: str, host: str | None = None) -> tuple[int, str, bytes]:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("GET", path, headers={"Host": host} if host else {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, r.getheader("content-type", ""), body


def status(url: str) -> dict:
    return json.loads(get(url, "/api/status")[2])


def connect(url: str, **kw):
    return ws_client.connect(url.replace("http://", "ws://") + "ws", max_size=None, open_timeout=30, **kw)


def next_frame(ws, timeout: float = 60):
    """The next frame's header (acknowledged); JSON messages on the way are returned instead."""
    msg = ws.recv(timeout=timeout)
    if isinstance(msg, str):
        return json.loads(msg)
    ws.send(json.dumps({"type": "ack", "n": 1}))
    return decode_frame(msg)[0]


def frame_where(ws, pred, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = next_frame(ws, deadline - time.monotonic())
        if m.get("type") == "frame" and pred(m):
            return m
    raise AssertionError("no such frame in time")


def error_of(ws, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = next_frame(ws, deadline - time.monotonic())
        if m.get("type") == "error":
            return m["message"]
    raise AssertionError("no error message in time")


@pytest.fixture(scope="module")
def server():
    with explore_server("--idle-minutes", "0.03") as s:  # 1.8 s: the idle test need not wait long
        yield s


def test_serves_the_page_and_its_files_on_loopback(server):
    assert server.url.startswith("http://127.0.0.1:")
    code, kind, body = get(server.url, "/")
    page = body.decode()
    assert code == 200 and kind.startswith("text/html")
    assert 'id="step"' in page and 'id="w2"' in page and 'id="message"' in page
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert ref.startswith("/static/") or ref.startswith("data:"), ref
        if ref.startswith("/static/"):
            assert get(server.url, ref)[0] == 200
    assert get(server.url, "/static/plot.js")[0] == 200
    settings = json.loads(get(server.url, "/api/settings")[2])
    assert settings["steps"]["max"] == 64
    assert get(server.url, "/nope")[0] == 404
    assert get(server.url, "/static/../server.py")[0] == 404


def test_nothing_comes_from_a_cdn():
    files = sorted(STATIC.iterdir())
    assert {f.name for f in files} >= {"index.html", "explore.js", "plot.js", "explore.css"}
    for f in files:
        text = f.read_text()
        assert not re.search(r"https?://", text.replace("http://127.0.0.1", "")), f.name
        assert "import(" not in text and "@import" not in text, f.name


def test_the_page_ships_in_the_wheel():
    """pyproject's package-data covers every file of the page (a wheel without them serves 404s)."""
    import fnmatch

    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")
    repo = STATIC.parents[3]
    globs = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["flowmatch.explore"]
    for f in STATIC.iterdir():
        assert any(fnmatch.fnmatch(f"static/{f.name}", g) for g in globs), f.name


def test_a_request_for_another_host_is_refused(server):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example."""
    assert get(server.url, "/", host="evil.example")[0] == 400
    assert get(server.url, "/", host=f"localhost:{urlsplit(server.url).port}")[0] == 200


def test_another_sites_page_cannot_open_a_tab(server):
    with pytest.raises(InvalidStatus) as exc:
        with connect(server.url, additional_headers={"Origin": "http://evil.example"}):
            pass
    assert exc.value.response.status_code == 403
    with connect(server.url, additional_headers={"Origin": server.url.rstrip("/")}) as ws:  # our own page
        ws.send(json.dumps({"type": "query", "query": SMALL}))
        assert frame_where(ws, lambda h: True)["step"] == 0


def test_bad_messages_get_a_message_and_every_tab_carries_on(server):
    with connect(server.url) as a, connect(server.url) as b:
        a.send(json.dumps({"type": "query", "query": f"data=moons&coupling=ot&{SMALL}&run=1"}))
        b.send(json.dumps({"type": "query", "query": f"data=circles&{SMALL}&run=1"}))
        first = frame_where(a, lambda h: h["step"] > 3)
        for bad, words in [
            ("not json", "JSON objects"),
            ("[1, 2]", "JSON objects"),
            (json.dumps({"type": "launch"}), "unknown message type"),
            (json.dumps({"type": "ack", "n": "many"}), "count of frames"),
            (json.dumps({"type": ["query"]}), "unknown message type"),
            ("x" * 400_000, "too long"),
            ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
            ('{"a": ' * 40_000 + "1" + "}" * 40_000, "nested too deeply"),
            ('{"type": "query", "query": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
            (json.dumps({"type": "query", "query": [[[["x"]]]]}), "unknown setting"),
            (b"\x00\x01", "JSON text"),
            (json.dumps({"type": "query", "query": "data=nosuch&run=1"}), "unknown data 'nosuch'"),
            (json.dumps({"type": "query", "query": "steps=1000000"}), "between 1 and 64"),
            (json.dumps({"type": "query", "query": "lr=abc"}), "expected a number"),
        ]:
            b.send(bad)
            assert words in error_of(b), bad[:40]
        later = frame_where(a, lambda h: h["step"] > first["step"] + 3)  # tab a never noticed
        assert later["flow"] == first["flow"]
        assert frame_where(b, lambda h: h["running"])["status"]["query"] == f"data=circles&{SMALL}&run=1"  # b keeps its last good settings
        s = status(server.url)
        assert s["tabs"] == 2 and s["training"] == 2
        assert sorted(x["data"] for x in s["sessions"]) == ["circles", "moons"]


def test_a_closed_tab_frees_its_session(server):
    with connect(server.url) as ws:
        ws.send(json.dumps({"type": "query", "query": f"{SMALL}&run=1"}))
        frame_where(ws, lambda h: h["step"] > 0)
        assert status(server.url)["training"] >= 1
    deadline = time.monotonic() + 20
    while status(server.url)["tabs"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status(server.url)["tabs"] == 0 and status(server.url)["training"] == 0


def test_an_idle_tab_stops_and_frees_its_flow(server):
    with connect(server.url) as ws:
        ws.send(json.dumps({"type": "query", "query": f"{SMALL}&run=1"}))
        frame_where(ws, lambda h: h["step"] > 0)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = next_frame(ws, 30)
            if m.get("type") == "status" and m.get("idle"):
                break
        assert "idle" in m["message"]
        (session,) = status(server.url)["sessions"]
        assert not session["running"] and not session["has_flow"] and status(server.url)["training"] == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stop_it_cleanly_while_tabs_train(sig):
    with explore_server() as s:
        with connect(s.url) as ws:
            ws.send(json.dumps({"type": "query", "query": f"coupling=ot&{SMALL}&run=1"}))
            frame_where(ws, lambda h: h["step"] > 3)
            start = time.monotonic()
            code, out, err = s.stop(sig)
            assert code == 0 and "stopped" in out, (code, out, err)
            assert "Traceback" not in err, err
            took = time.monotonic() - start
            print(f"stopped {signal.Signals(sig).name} in {took:.2f} s")
            assert took < 15
            with pytest.raises(ConnectionClosed):  # the tab was told: its connection is closed
                while True:
                    ws.recv(timeout=10)


def test_the_command_line_refuses_bad_flags():
    fails_cleanly(cli("explore", "--port", "70000"), "--port", "65535")
    fails_cleanly(cli("explore", "--port", "x"), "--port", "integer")
    fails_cleanly(cli("explore", "--idle-minutes", "0"), "--idle-minutes")
    fails_cleanly(cli("explore", "--host", "192.0.2.1", "--port", "0"), "cannot listen on 192.0.2.1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        fails_cleanly(cli("explore", "--port", port), f"cannot listen on 127.0.0.1:{port}", "in use")
    assert cli("explore", "--help").stdout.count("127.0.0.1") >= 1


def test_without_the_extra_it_says_what_to_install(monkeypatch):
    monkeypatch.delitem(sys.modules, "flowmatch.explore.server", raising=False)
    monkeypatch.setitem(sys.modules, "starlette", None)
    monkeypatch.setitem(sys.modules, "starlette.applications", None)
    fails_cleanly(cli("explore", "--port", "0"), "pip install 'flowmatch[explore]'", "starlette")


def test_loopback_is_the_default_and_other_hosts_are_opt_in():
    from flowmatch.cli import build_parser
    from flowmatch.explore.server import create_app, is_loopback

    assert build_parser().parse_args(["explore"]).host == "127.0.0.1"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20") and not is_loopback("example.org")

    def allowed(app):
        (mw,) = [m for m in app.user_middleware if m.cls.__name__ == "TrustedHostMiddleware"]
        return mw.kwargs["allowed_hosts"]

    assert "*" not in allowed(create_app()) and allowed(create_app(host="0.0.0.0")) == ["*"]
