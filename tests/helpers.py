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


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under root, by relative path: what a refused command must leave as it was."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def refusal_failures(cases: list[list[object]], root: Path, expect: dict[int, str] | None = None) -> list[str]:
    """Run each case in this process; a case fails unless it ends with exit 2, one `error:` line
    (no traceback, no warning printed) and every file under root as it was, and (where `expect`
    gives a word for its index) the line names that word. Each runs in root, so that a file
    written to the current directory (an empty --out read as ".") counts as a change. Returns one
    line per failure."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    before = snapshot(root)
    failures = []
    for i, args in enumerate(cases):
        try:
            with warnings.catch_warnings(), contextlib.chdir(root):  # a warning printed to the user counts as a second line
                warnings.simplefilter("always")
                warnings.showwarning = show
                res = cli(*args)
        except BaseException as exc:  # a traceback reaching the user
            failures.append(f"{' '.join(map(str, args))}: raised {type(exc).__name__}: {exc}")
            continue
        lines = res.stderr.splitlines()
        word = (expect or {}).get(i)
        if res.returncode != 2 or len(lines) != 1 or not lines[0].startswith("error: ") or (word and word not in lines[0]):
            failures.append(f"{' '.join(map(str, args))}: rc={res.returncode} stderr={res.stderr[-300:]!r}")
        after = snapshot(root)
        if after != before:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            failures.append(f"{' '.join(map(str, args))}: changed {changed[:5]}")
            before = after
    return failures


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


def joint_table(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A distribution over {0..V-1}^L given as a (V,) * L probability tensor -> (states (S, L), p (S,))."""
    length, vocab = probs.dim(), probs.shape[0]
    states = torch.cartesian_prod(*[torch.arange(vocab)] * length).reshape(-1, length)
    return states, probs.reshape(-1).double()


class ExactTokenPosterior:
    """The exact posterior log p_{1|t}(x1^i | x_t): (B, L, V) of a mixture path for data drawn from
    a known joint distribution over {0..V-1}^L (a (V,) * L probability tensor), by enumeration."""

    def __init__(self, path, probs: torch.Tensor):
        self.path = path
        self.states, self.p = joint_table(probs)

    def __call__(self, x: torch.Tensor, t: torch.Tensor, **cond) -> torch.Tensor:
        k = self.path.schedule.kappa(t.double())[:, None, None]  # (B, 1, 1)
        p0 = self.path.source_probs().double()[x]  # (B, L): p0 of each shown token
        same = (x[:, None, :] == self.states[None]).double()  # (B, S, L)
        lik = (k * same + (1 - k) * p0[:, None, :]).prod(-1)  # (B, S)
        w = lik * self.p[None]
        w = w / w.sum(1, keepdim=True)
        onehot = torch.nn.functional.one_hot(self.states, self.path.vocab_size).double()  # (S, L, V)
        post = torch.einsum("bs,slv->blv", w, onehot)
        return post.clamp(min=1e-300).log().float()


def histogram_tv(x: torch.Tensor, states: torch.Tensor, p: torch.Tensor) -> float:
    """Total variation between the empirical law of rows x: (N, L) and p over `states` (S, L)."""
    vocab = int(states.max()) + 1
    code = lambda s: (s * vocab ** torch.arange(s.shape[1] - 1, -1, -1)).sum(1)  # noqa: E731
    counts = torch.bincount(code(x), minlength=vocab ** states.shape[1]).double()
    order = code(states)
    return 0.5 * float((counts[order] / len(x) - p).abs().sum())
