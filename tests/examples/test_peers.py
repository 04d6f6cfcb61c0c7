"""benchmarks/peers.py smoke-runs on a tiny budget when the peer libraries are installed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import REPO, subprocess_env


def test_peers_smoke():
    pytest.importorskip("torchcfm")
    pytest.importorskip("flow_matching")
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "peers.py"), "--seeds", "1", "--steps", "20", "--tasks", "8gaussians-moons", "--refs", "1", "--n-eval", "100", "--recipe-steps", "20"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    table = [line for line in r.stdout.splitlines() if line.startswith("| 8gaussians-moons")]
    assert len(table) == 6
