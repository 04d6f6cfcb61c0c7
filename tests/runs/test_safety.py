"""A run directory from anyone is safe to open, and no command loses or mixes up work:
booby-trapped files run no code, one writer at a time, finite checkpoints only, signals save,
runs that travel, and 20 kill -9 at random moments still end bit for bit like one clean run."""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from flowmatch.data import load_data
from flowmatch.errors import FlowmatchError
from flowmatch.runs import load_checkpoint, load_run, sample_run
from flowmatch.runs.lock import LOCK_FILE, run_lock
from helpers import REPO, cli, subprocess_env

TINY = ["--batch-size", "32", "--hidden", "16", "--depth", "2", "--no-progress"]


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def popen_train(*args) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "flowmatch", "train", *map(str, args)]
    return subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def test_booby_trapped_checkpoint_runs_no_code(tmp_path):
    torch.save({"model": Payload(tmp_path / "pwned"), "step": 1}, tmp_path / "checkpoint.pt")
    with pytest.raises(FlowmatchError, match="corrupt or unsafe"):
        load_checkpoint(tmp_path / "checkpoint.pt")
    (tmp_path / "checkpoint.pt").write_bytes(pickle.dumps(Payload(tmp_path / "pwned")))
    with pytest.raises(FlowmatchError):
        load_checkpoint(tmp_path / "checkpoint.pt")
    assert not (tmp_path / "pwned").exists()


def test_booby_trapped_cifar_batch_runs_no_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    good = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}
    (folder / "test_batch").write_bytes(pickle.dumps(good, protocol=2))
    images, labels = load_data("cifar10", data_dir=str(tmp_path), split="test").all()
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == [0, 1, 2, 3]
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Payload(tmp_path / "pwned"), b"labels": [0]}))
    with pytest.raises(FlowmatchError, match="cannot read CIFAR-10 batch"):
        load_data("cifar10", data_dir=str(tmp_path), split="test")
    assert not (tmp_path / "pwned").exists()


def test_a_second_writer_is_refused_at_once(tmp_path):
    run = tmp_path / "run"
    with run_lock(run):
        with run_lock(run):  # the same process may nest (reflow trains the directory it locked)
            pass
        start = time.perf_counter()
        proc = popen_train("--data", "moons", "--out", run, "--steps", "5", *TINY)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2 and err.count("\n") == 1 and "another process" in err, err
        assert time.perf_counter() - start < 60
    assert not (run / LOCK_FILE).exists()  # released and removed: the directory is as it was
    assert cli("train", "--data", "moons", "--out", run, "--steps", "5", *TINY).returncode == 0


def test_nan_weights_never_reach_a_checkpoint(tmp_path):
    res = cli("train", "--data", "moons", "--out", tmp_path / "r", "--lr", "1e6", "--steps", "50", "--save-every", "1", *TINY)
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1
    assert "at step" in res.stderr and "is kept" in res.stderr, res.stderr
    state = load_checkpoint(tmp_path / "r")
    for weights in (state["model"], state["ema"]):
        assert all(bool(torch.isfinite(v).all()) for v in weights.values())
    out = cli("sample", tmp_path / "r", "--out", tmp_path / "s.npy", "--n", "20")
    assert out.returncode == 2 or np.isfinite(np.load(tmp_path / "s.npy")).all()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_save_a_checkpoint_and_exit_128_plus_n(tmp_path, sig):
    args = ["--data", "moons", "--save-every", "100000", "--log-every", "10", *TINY]
    proc = popen_train("--out", tmp_path / "r", "--steps", "100000", *args)
    log = tmp_path / "r" / "log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and log.stat().st_size):
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert err.count("\n") == 1 and err.startswith("error: stopped by " + signal.Signals(sig).name), err
    step = load_checkpoint(tmp_path / "r")["step"]
    assert 0 < step < 100000
    again = cli("train", "--out", tmp_path / "r", "--resume", "--steps", str(step + 10), *args)
    assert again.returncode == 0 and json.loads(again.stdout)["step"] == step + 10, again.stderr


def test_resume_may_change_only_the_listed_options(tmp_path):
    run = tmp_path / "r"
    base = ["--data", "moons", "--out", run, *TINY]
    cli("train", *base, "--steps", "10", check=True)
    ok = cli("train", *base, "--resume", "--steps", "20", "--max-minutes", "5", "--save-every", "7", "--log-every", "3", "--device", "cpu", "--prefetch", "0")
    assert ok.returncode == 0, ok.stderr
    bad = cli("train", *base, "--resume", "--steps", "30", "--data", "circles", "--depth", "3")
    assert bad.returncode == 2 and "data" in bad.stderr and "depth" in bad.stderr


def test_runs_travel_without_their_data_files(tmp_path):
    pts = load_data("moons").sample(500, torch.Generator().manual_seed(0)).x.numpy()
    np.save(tmp_path / "data.npy", pts)
    np.save(tmp_path / "src.npy", pts[:, ::-1].copy() * 0.5)
    cli("train", "--data", tmp_path / "data.npy", "--source", tmp_path / "src.npy", "--out", tmp_path / "r", "--steps", "10", *TINY, check=True)
    moved = tmp_path / "elsewhere" / "r"
    shutil.move(tmp_path / "r", moved)
    (tmp_path / "data.npy").unlink()
    (tmp_path / "src.npy").unlink()
    run = load_run(moved)
    res = sample_run(run, 30, method="euler", steps=2)
    assert res.x.shape == (30, 2) and bool(torch.isfinite(res.x).all())
    assert cli("sample", moved, "--n", "30", "--out", tmp_path / "s.npy").returncode == 0


def test_csv_with_a_byte_order_mark_keeps_its_first_row(tmp_path):
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf1.5,2.5\n3,4\n")
    assert load_data(str(tmp_path / "excel.csv")).points.tolist() == [[1.5, 2.5], [3.0, 4.0]]


def test_twenty_kills_at_random_moments_end_bit_for_bit(tmp_path):
    args = ["--data", "moons", "--steps", "3000", "--save-every", "25", "--seed", "3", *TINY]
    cli("train", "--out", tmp_path / "full", *args, check=True)
    cut = tmp_path / "cut"
    rng = random.Random(0)
    kills = 0
    while kills < 20:
        proc = popen_train("--out", cut, *args, *(["--resume"] if (cut / "checkpoint.pt").exists() else []))
        time.sleep(rng.uniform(1.0, 3.0))  # start-up takes about a second: some kills land before the first step
        if proc.poll() is not None:
            break  # finished before this kill: nothing left to interrupt
        proc.kill()
        proc.wait()
        kills += 1
    final = cli("train", "--out", cut, "--resume", *args)
    assert final.returncode == 0, final.stderr
    assert kills >= 10, f"only {kills} kills landed before the run finished"
    a, b = load_checkpoint(tmp_path / "full"), load_checkpoint(cut)
    assert a["step"] == b["step"] == 3000
    for part in ("model", "ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), (part, k)
    steps = [json.loads(line)["step"] for line in (cut / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 3000
