"""benchmarks/peers.py smoke-runs on a tiny budget when the peer libraries are installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_peers_smoke():
    pytest.importorskip("torchcfm")
    pytest.importorskip("flow_matching")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--seeds", "1", "--steps", "20", "--tasks", "8gaussians-moons",
                        "--refs", "1", "--n-eval", "100", "--recipe-steps", "20"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    table = [line for line in r.stdout.splitlines() if line.startswith("| 8gaussians-moons")]
    assert len(table) == 6
