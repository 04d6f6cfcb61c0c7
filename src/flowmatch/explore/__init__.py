"""`flowmatch explore`: a local web app that trains a 2D flow live in the browser.

Each browser tab trains its own flow with the toolkit's `Trainer` on the server and receives
frames of it several times a second: particles moving from the source to the data, their
trajectories, the velocity field, the loss, the W2 distance to the target, the solvers side by
side, and teaching views (conditional against marginal paths, coupling lines, the log-density,
density guidance). Every picture comes from the library itself.

Modules, top to bottom: `server` (Starlette routes, one WebSocket per tab, uvicorn), `session`
(one tab: the worker thread that trains and draws), `frames` (what a frame holds, and the
pictures kept between frames), `flow` (the Trainer and the fixed point sets of one flow),
`views` (the numbers behind each picture), `settings` (the query string), `protocol` (the
binary frame format), `static/` (the page: HTML, CSS and hand-written JavaScript).

The server needs the optional extra: `pip install 'flowmatch[explore]'` (starlette, uvicorn,
websockets); the rest of the package needs only the toolkit.
"""

from flowmatch.explore.settings import ExploreError, Settings, parse_query, to_query

__all__ = ["ExploreError", "Settings", "parse_query", "to_query"]
