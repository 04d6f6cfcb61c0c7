"""Shared test setup: one torch thread (the CPU is small and shared; OpenMP spinning only slows tiny models)."""

import os

import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the CLI subprocesses
torch.set_num_threads(1)
