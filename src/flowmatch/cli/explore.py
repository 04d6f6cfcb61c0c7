"""`flowmatch explore`: serve the explorer, a local web page that trains a 2D flow live."""

from __future__ import annotations

import argparse

NAME = "explore"
HELP = "a local web page that trains a 2D flow live and shows it (needs flowmatch[explore])"
DESCRIPTION = (
    "Serve the flow explorer on http://127.0.0.1:8765/: each browser tab trains its own 2D flow with the toolkit's "
    "training loop and shows samples, trajectories, the velocity field, the loss and W2 as it trains. Every setting "
    "is in the page's query string (e.g. /?data=moons&coupling=ot&run=1). Ctrl-C stops the server."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import number

    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=number(int, min=0, max=65535), default=8765, help="port (default 8765; 0: any free port)")
    p.add_argument("--max-tabs", type=number(int, min=1, max=1000), default=16, help="open tabs at most (default 16)")
    p.add_argument("--max-training", type=number(int, min=1, max=1000), default=4, help="tabs training at once at most (default 4)")
    p.add_argument("--idle-minutes", type=number(float, min=0, min_open=True), default=10.0, help="a tab without a change for this long stops training and frees its flow (default 10)")
    p.add_argument("--max-steps", type=number(int, min=1), default=50_000, help="training steps of one flow at most (default 50000)")


def run(args: argparse.Namespace) -> int:
    from flowmatch.errors import FlowmatchError

    try:
        from flowmatch.explore.server import serve
        from flowmatch.explore.session import Limits
    except ImportError as exc:  # the optional extra is not installed
        raise FlowmatchError(f"flowmatch explore needs its web server packages ({exc.name} is missing): pip install 'flowmatch[explore]'") from None
    limits = Limits(max_training=args.max_training, idle_seconds=60 * args.idle_minutes, max_steps=args.max_steps)
    serve(args.host, args.port, limits=limits, max_tabs=args.max_tabs)
    return 0
