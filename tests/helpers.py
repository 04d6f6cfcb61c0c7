"""Helpers shared by the image tests: run the CLI in a subprocess, write small data files."""

from __future__ import annotations

import gzip
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# ../shared from the main checkout; ../../shared from a worktree under wt/
SHARED_MNIST = next((p / "shared" / "data" / "mnist-subset" for p in (REPO.parent, REPO.parent.parent) if (p / "shared" / "data" / "mnist-subset").is_dir()), REPO.parent / "shared" / "data" / "mnist-subset")


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")  # 1 thread: fastest on a shared CPU
    return subprocess.run([sys.executable, "-m", "flowmatch", *args], capture_output=True, text=True, env=env, timeout=timeout)


def script(path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, env=env, timeout=timeout)


def write_idx(path: Path, arr: np.ndarray, gz: bool = True) -> Path:
    """The IDX byte layout: 0, 0, type 0x08 (ubyte), ndim, big-endian int32 dims, data."""
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = head + arr.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)
    return path


def make_idx_dir(root: Path, n: int = 30, gz: bool = True, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n) % 10
    root.mkdir(parents=True, exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        write_idx(root / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", labels, gz)
    return images, labels


def make_cifar_dir(root: Path, per_batch: int = 4, seed: int = 0) -> Path:
    """A CIFAR-10-style folder: data_batch_1..5 and test_batch, each a pickled dict with
    b'data' (n, 3072) uint8 (channel-major rows of 32x32) and b'labels' (list of ints)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8), b"labels": [int(v) for v in rng.integers(0, 10, per_batch)]}
        with open(folder / name, "wb") as fh:
            pickle.dump(d, fh)
    return folder
