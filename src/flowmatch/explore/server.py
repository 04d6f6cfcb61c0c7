"""The explorer's web server: Starlette routes, one WebSocket per tab, and uvicorn to serve them.

- `GET /` is the page, `GET /static/...` its script and style (in the package: nothing from a
  CDN), `GET /api/status` counts the tabs and what each is doing (JSON, for tests and curious people),
  `GET /api/settings` lists every setting's choices or range and default (the page's controls).
- `WS /ws` is one tab: its text messages (JSON) go to its `Session`, whose frames (binary) and
  messages (JSON) come back. A message that is not JSON, not an object, nested too deeply or too long is answered
  with an error message; the connection, and every other tab, carries on.
- Safety on a shared machine: it binds 127.0.0.1 unless told otherwise, answers only requests
  whose Host is that address (a web page elsewhere cannot reach it by DNS rebinding), and accepts
  a WebSocket only from a page it served itself (same Origin), so another site open in the
  browser cannot make it train.
- Ctrl-C (SIGINT) or SIGTERM: uvicorn closes every WebSocket, each tab's worker thread ends and
  frees its flow, and `serve` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from flowmatch.errors import FlowmatchError
from flowmatch.explore.session import Limits, Session, Slots
from flowmatch.explore.settings import describe

STATIC = Path(__file__).resolve().parent / "static"
MAX_MESSAGE = 300_000  # characters: a query string with a 20,000-point drawing is ~55,000
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Tabs:
    """The open tabs' sessions, and the training slots they share."""

    def __init__(self, limits: Limits, max_tabs: int):
        self.limits, self.max_tabs = limits, max_tabs
        self.slots = Slots(limits.max_training)
        self.sessions: set[Session] = set()

    def status(self) -> dict[str, Any]:
        sessions = sorted(self.sessions, key=lambda s: s.id)
        return {"tabs": len(sessions), "training": self.slots.used, "max_tabs": self.max_tabs, "max_training": self.slots.limit, "sessions": [s.summary() for s in sessions]}

    def close_all(self) -> None:
        for session in list(self.sessions):
            session.close()
        self.sessions.clear()


def _same_origin(ws: WebSocket) -> bool:
    """A browser names the page that opens a WebSocket in Origin; accept our own pages (and
    clients that are not browsers, which send no Origin)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == ws.headers.get("host", "")


async def _tab(ws: WebSocket, tabs: Tabs) -> None:
    if not _same_origin(ws):
        await ws.close(code=1008)  # before accepting: the browser sees a refused handshake
        return
    await ws.accept()
    if len(tabs.sessions) >= tabs.max_tabs:
        await ws.send_text(json.dumps({"type": "error", "message": f"{tabs.max_tabs} tabs are open already (flowmatch explore --max-tabs); close one and reload"}))
        await ws.close(code=1013)
        return
    loop = asyncio.get_running_loop()
    outbox: asyncio.Queue = asyncio.Queue()

    def emit(item: Any) -> None:  # called on the session's worker thread
        with contextlib.suppress(RuntimeError):  # the loop has closed: the tab is gone anyway
            loop.call_soon_threadsafe(outbox.put_nowait, item)

    async def send() -> None:
        while True:
            item = await outbox.get()
            if isinstance(item, bytes):
                await ws.send_bytes(item)
            else:
                await ws.send_text(json.dumps(item))

    session = Session(emit, tabs.limits, tabs.slots)
    tabs.sessions.add(session)
    sender = asyncio.create_task(send())
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                emit({"type": "error", "message": "messages to the server are JSON text"})
            elif len(text) > MAX_MESSAGE:
                emit({"type": "error", "message": f"message too long ({len(text)} characters; at most {MAX_MESSAGE})"})
            else:
                try:
                    data = json.loads(text)
                except RecursionError:  # nesting deeper than the parser's stack: an answer, not a dropped tab
                    data = RecursionError
                except ValueError:
                    data = None
                if isinstance(data, dict):
                    session.submit(data)
                elif data is RecursionError:
                    emit({"type": "error", "message": "message nested too deeply; messages to the server are flat JSON objects"})
                else:
                    emit({"type": "error", "message": "messages to the server are JSON objects"})
    except Exception:  # the connection broke mid-message: the tab is gone
        pass
    finally:
        sender.cancel()
        await loop.run_in_executor(None, session.close)  # joins the worker without blocking other tabs
        tabs.sessions.discard(session)


def create_app(limits: Limits | None = None, *, max_tabs: int = 16, host: str = "127.0.0.1") -> Starlette:
    """The ASGI app. On a loopback `host`, only requests addressed to a loopback name are answered."""
    tabs = Tabs(limits or Limits(), max_tabs)

    async def page(request: Request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def status(request: Request):
        return JSONResponse(tabs.status())

    async def settings(request: Request):
        return JSONResponse(describe(), headers={"Cache-Control": "no-store"})

    async def ws(websocket: WebSocket):
        await _tab(websocket, tabs)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await asyncio.get_running_loop().run_in_executor(None, tabs.close_all)  # what uvicorn has not closed

    allowed = [*LOOPBACK, host] if is_loopback(host) else ["*"]
    app = Starlette(
        routes=[Route("/", page), Route("/api/status", status), Route("/api/settings", settings), WebSocketRoute("/ws", ws), Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)],
        lifespan=lifespan,
    )
    app.state.tabs = tabs
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one. OSError if it cannot bind."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise FlowmatchError(f"--host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise FlowmatchError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(64)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(host: str = "127.0.0.1", port: int = 8765, *, limits: Limits | None = None, max_tabs: int = 16, say: Callable[[str], None] = print) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the signal that stopped it (0 if none)."""
    import torch
    import uvicorn

    # One thread per tab's work: on a small CPU several tabs share the cores, and for these
    # small models one thread is faster than two anyway (tests/conftest.py says the same).
    torch.set_num_threads(1)
    sock = bind(host, port)
    say(f"flowmatch explore: serving on {url_of(sock)}  (Ctrl-C stops)")
    if not is_loopback(host):
        say(f"flowmatch explore: listening on {host}: anyone who can reach this machine can use it")
    sys.stdout.flush()
    # websockets' sans-I/O protocol where this uvicorn has it (its older one is deprecated)
    ws = "websockets-sansio" if "websockets-sansio" in uvicorn.config.WS_PROTOCOLS else "websockets"
    app = create_app(limits, max_tabs=max_tabs, host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5, ws=ws)
    server = uvicorn.Server(config)
    caught: list[int] = []
    # uvicorn catches SIGINT/SIGTERM while it serves and raises them again once it has shut down;
    # these handlers take that second signal, so the command ends with its line, not a traceback.
    previous = {sig: signal.signal(sig, lambda s, f: caught.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    say("flowmatch explore: stopped")
    return caught[0] if caught else 0


__all__ = ["Tabs", "bind", "create_app", "is_loopback", "serve", "url_of"]
