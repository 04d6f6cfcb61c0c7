"""Smoke run of examples/mnist_cfg_scheduler.py with a tiny budget (needs the shared MNIST
subset; skipped where it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import EXAMPLES, SHARED_MNIST, script


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="shared MNIST subset absent")
def test_mnist_cfg_scheduler_example_runs(tmp_path):
    out = tmp_path / "run"
    proc = script(
        EXAMPLES / "mnist_cfg_scheduler.py",
        "--data-dir",
        SHARED_MNIST,
        "--out",
        out,
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--channels",
        "8",
        "--channel-mults",
        "1,2",
        "--nfe",
        "2",
        "--per-class",
        "1",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["step"] == 2 and record["nfe"] == 2
    assert Path(record["grid"]).stat().st_size > 0
    assert (out / "scheduler_config.json").exists()
