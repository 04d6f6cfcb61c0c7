"""Shared test helpers: the repository paths and a CLI runner that works in any checkout.

Tests use one torch thread: the CPU is small and shared, and OpenMP spinning only slows tiny models.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the CLI subprocesses
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def run_cli(*args: str, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m flowmatch ARGS` against this checkout's src/, capturing output."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "flowmatch", *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"flowmatch {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
