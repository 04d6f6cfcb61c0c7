"""The one helpers module of the tests (imported as `from helpers import ...`; conftest.py puts
tests/ on sys.path): repository paths, the CLI runners, small data files, a closed-form field.

Two CLI runners:
- `cli(*args)` calls `flowmatch.cli.main` in this process, with stdout and stderr captured and
  argparse's SystemExit caught: the same parsing and error path without a Python start-up.
  Every CLI test uses it unless its point is a real process.
- `run_cli(*args)` runs `python -m flowmatch` in a subprocess, for the tests whose point is a
  real process (kill -9 and resume, torchrun, `python -m flowmatch` itself); `script(path)`
  runs a script (the examples) the same way.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
EXAMPLES = REPO / "examples"
# ../shared from the main checkout; ../../shared from a worktree under wt/
SHARED = next((p / "shared" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").is_dir()), REPO.parent / "shared")
SHARED_MNIST = next(
    (p / "shared" / "data" / "mnist-subset" for p in (REPO.parent, REPO.parent.parent) if (p / "shared" / "data" / "mnist-subset").is_dir()),
    REPO.parent / "shared" / "data" / "mnist-subset",
)


# -- the command line -------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    """What a command left: its exit code and everything it wrote to stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


def cli(*args: object, check: bool = False) -> Result:
    """`flowmatch ARGS` in this process: flowmatch.cli.main with stdout/stderr captured.

    argparse ends with SystemExit (0 after --help, 2 for a usage error); its code is the result's.
    """
    from flowmatch.cli import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:  # sys.exit("message"): Python prints the message and exits with 1
                err.write(f"{exc.code}\n")
                code = 1
    result = Result(int(code or 0), out.getvalue(), err.getvalue())
    if check and result.returncode != 0:
        raise AssertionError(f"flowmatch {' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
    return result


def subprocess_env() -> dict[str, str]:
    """This checkout's src/ first on PYTHONPATH; one thread (fastest on a small shared CPU)."""
    path = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def run_cli(*args: object, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m flowmatch ARGS` in a subprocess against this checkout's src/, output captured."""
    proc = subprocess.run([sys.executable, "-m", "flowmatch", *map(str, args)], capture_output=True, text=True, env=subprocess_env(), timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"flowmatch {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def popen_cli(*args: object, **kwargs) -> subprocess.Popen:
    """`python -m flowmatch ARGS` started in the background (for a process to kill)."""
    return subprocess.Popen([sys.executable, "-m", "flowmatch", *map(str, args)], env=subprocess_env(), **kwargs)


@dataclass
class Server:
    """A `flowmatch explore` process: its URL (http://127.0.0.1:PORT/) and the process."""

    url: str
    proc: subprocess.Popen

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> tuple[int, str, str]:
        """Send `sig` (Ctrl-C by default), wait, and return (exit code, stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"flowmatch explore did not stop within {timeout} s of signal {sig}:\n{err[-3000:]}") from None
        return self.proc.returncode, out, err


@contextlib.contextmanager
def explore_server(*args: object, timeout: float = 60):
    """Start `flowmatch explore --port 0 ARGS` (a free port on 127.0.0.1), yield its `Server`, stop it."""
    import selectors

    proc = popen_cli("explore", "--port", "0", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = None
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"flowmatch explore printed nothing in {timeout} s")
        line = proc.stdout.readline()
        if "serving on " not in line:
            raise AssertionError(f"flowmatch explore: {line!r} {proc.stderr.read()[-3000:] if proc.poll() is not None else ''}")
        server = Server(line.split("serving on ")[1].split()[0], proc)
        yield server
    finally:
        if proc.poll() is None:
            (server or Server("", proc)).stop()


def script(path: Path, *args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python PATH ARGS` in a subprocess against this checkout's src/ (the examples)."""
    return subprocess.run([sys.executable, str(path), *map(str, args)], capture_output=True, text=True, env=subprocess_env(), timeout=timeout)


def fails_cleanly(result: Result | subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 2 and exactly one stderr line `error: ...` (no traceback) containing every word."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- small data files --------------------------------------------------------------------------
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
    for _split, prefix in (("train", "train"), ("test", "t10k")):
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


# -- the Gaussian data of the `gaussian_run` fixture (conftest.py) ------------------------------
GAUSS_MU, GAUSS_SD = np.array([1.0, -1.0]), np.array([0.5, 1.5])


# -- a closed-form field -----------------------------------------------------------------------
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


def closed_form_run(mu: torch.Tensor, s: torch.Tensor):
    """A stand-in for a trained run whose 'network' is the exact condot field from N(0, I) to N(mu, s^2)."""
    from types import SimpleNamespace

    from flowmatch.data import ArrayData, GaussianSource

    data = ArrayData((mu + s * torch.randn(4000, 2, generator=torch.Generator().manual_seed(9))).numpy())
    config = SimpleNamespace(source="gaussian", data="gauss", sampler="", unguided_sampler="", objective="fm", distill_fraction=0.0)
    return SimpleNamespace(model=gaussian_field(mu, s), source=GaussianSource((2,), 1.0), data=data, device=torch.device("cpu"), config=config, recommended=None)
