"""Helpers of the likelihood/guidance/evaluation tests: run this checkout's CLI in a subprocess,
a closed-form Gaussian field, and a one-thread fixture (a module, not conftest.py, so that other
test suites' conftest files merge without conflicts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m flowmatch ARGS` with this checkout's src first on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "flowmatch", *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


def gaussian_field(mu: torch.Tensor, s: torch.Tensor, rot: torch.Tensor | None = None):
    """The condot (sigma_min = 0) marginal velocity from N(0, I) to N(mu, R diag(s^2) R^T).

    In the rotated frame y = R^T x each coordinate is independent: x_t = t x1 + (1 - t) x0 has
    mean t m and variance v_t = (t s)^2 + (1 - t)^2, and Cov(x1 - x0, x_t) = t s^2 - (1 - t), so
    u_t(y) = E[x1 - x0 | x_t = y] = m + (t s^2 - (1 - t)) / v_t (y - t m), m = R^T mu.
    """
    rot = torch.eye(len(mu), dtype=mu.dtype) if rot is None else rot
    m = rot.T @ mu

    def v(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = t[:, None]
        y = x @ rot
        var = (tt * s) ** 2 + (1 - tt) ** 2
        return (m + (tt * s**2 - (1 - tt)) / var * (y - tt * m)) @ rot.T

    return v


