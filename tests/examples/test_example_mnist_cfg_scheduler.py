"""Smoke run of examples/mnist_cfg_scheduler.py with a tiny budget (needs the image modules and
the shared MNIST subset; skipped where either is absent)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# ../shared next to the checkout (a worktree one level deeper looks one level further up).
MNIST = next((d / "shared" / "data" / "mnist-subset" for d in (ROOT.parent, ROOT.parent.parent) if (d / "shared").is_dir()), ROOT.parent / "shared" / "data" / "mnist-subset")


@pytest.mark.skipif(importlib.util.find_spec("flowmatch.cfg") is None, reason="image modules (U-Net, CFG) not in this checkout")
@pytest.mark.skipif(not MNIST.is_dir(), reason="shared MNIST subset absent")
def test_mnist_cfg_scheduler_example_runs(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "examples" / "mnist_cfg_scheduler.py"), "--data-dir", str(MNIST), "--out", str(out),
           "--steps", "2", "--batch-size", "8", "--channels", "8", "--channel-mults", "1,2", "--nfe", "2", "--per-class", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["step"] == 2 and record["nfe"] == 2
    assert Path(record["grid"]).stat().st_size > 0
    assert (out / "scheduler_config.json").exists()
