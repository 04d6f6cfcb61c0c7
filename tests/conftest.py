"""Fixtures and the one-thread setting; the helpers are in helpers.py (`from helpers import ...`).

Tests use one torch thread: the CPU is small and shared, and OpenMP spinning only slows tiny models.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers.py, from the test files in every subfolder
os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the CLI subprocesses
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def gaussian_run(tmp_path_factory):
    """(run directory, loaded run) of a flow trained on N(GAUSS_MU, diag(GAUSS_SD^2)) (helpers.py),
    shared by the likelihood tests of tests/runs and tests/cli."""
    import numpy as np

    from flowmatch.runs import load_run, train
    from flowmatch.training import TrainConfig
    from helpers import GAUSS_MU, GAUSS_SD

    d = tmp_path_factory.mktemp("gauss")
    rng = np.random.default_rng(0)
    np.save(d / "train.npy", (GAUSS_MU + GAUSS_SD * rng.standard_normal((20000, 2))).astype(np.float32))
    torch.manual_seed(0)
    # A short run: a fast EMA (0.99), since the default 0.999 still remembers early weights.
    train(TrainConfig(data=str(d / "train.npy"), out=str(d / "run"), steps=2000, hidden=64, depth=2, ema_decay=0.99, progress=False, save_every=2000))
    return d / "run", load_run(d / "run")
