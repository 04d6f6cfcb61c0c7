"""A full disk, simulated by making every write fail with ENOSPC after the first few: each command
ends with one `error:` line naming the file, no lock is left behind, and no file is changed."""

from __future__ import annotations

import builtins
import errno
import os

import pytest

import flowmatch.fileio
import flowmatch.runs.callbacks
import flowmatch.runs.lock
from flowmatch.runs.files import LOCK_FILE
from helpers import cli, fails_cleanly, snapshot

TINY = ["--steps", "6", "--batch-size", "16", "--hidden", "8", "--depth", "1", "--save-every", "2", "--no-progress"]


def enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullFile:
    """A writable file on a full disk: every write fails."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        enospc()

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


class FullDisk:
    """Stands for the `os` module of the writers: files opened for writing after the first
    `allowed` fail, and so does os.write."""

    def __init__(self, allowed: int):
        self.allowed = allowed

    def __getattr__(self, name):
        return getattr(os, name)

    def fdopen(self, fd, mode="r", *args, **kwargs):
        fh = os.fdopen(fd, mode, *args, **kwargs)
        if self.allowed > 0:
            self.allowed -= 1
            return fh
        return FullFile(fh)

    def write(self, fd, data):
        enospc()


@pytest.fixture
def full_disk(monkeypatch):
    def fill(allowed: int = 0):
        disk = FullDisk(allowed)
        monkeypatch.setattr(flowmatch.fileio, "os", disk)
        monkeypatch.setattr(flowmatch.runs.lock, "os", disk)

        def open_(file, mode="r", *args, **kwargs):  # the log is appended to, not replaced
            fh = builtins.open(file, mode, *args, **kwargs)
            return FullFile(fh) if ("a" in mode or "w" in mode) and disk.fdopen is not None and disk.allowed <= 0 else fh

        monkeypatch.setattr(flowmatch.runs.callbacks, "open", open_, raising=False)

    return fill


@pytest.mark.parametrize("allowed", [0, 1, 2, 3])
def test_a_fresh_run_on_a_full_disk_is_one_line_and_leaves_no_lock(tmp_path, full_disk, allowed):
    full_disk(allowed)  # the disk fills after `allowed` files: at config.json, source, the first or a later checkpoint
    run = tmp_path / "r"
    line = fails_cleanly(cli("train", "--data", "moons", "--out", run, *TINY), "No space left on device")
    assert str(run) in line
    assert not (run / LOCK_FILE).exists()
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")]  # no temporary file left


def test_a_resume_on_a_full_disk_keeps_the_checkpoint(tmp_path, full_disk):
    run = tmp_path / "r"
    cli("train", "--data", "moons", "--out", run, *TINY, check=True)
    before = snapshot(tmp_path)
    full_disk(0)
    fails_cleanly(cli("train", "--data", "moons", "--out", run, *TINY, "--resume", "--steps", "10"), "No space left on device")
    assert snapshot(tmp_path) == before
    assert not (run / LOCK_FILE).exists()


def test_sample_and_export_on_a_full_disk(tmp_path, full_disk):
    run = tmp_path / "r"
    cli("train", "--data", "moons", "--out", run, *TINY, check=True)
    before = snapshot(tmp_path)
    full_disk(0)
    for args in (
        ["sample", run, "--n", "10", "--out", tmp_path / "s.npy"],
        ["sample", run, "--n", "10", "--out", tmp_path / "s.png"],
        ["likelihood", run, "--n", "10", "--per-sample", tmp_path / "ll.npy"],
        ["export", run, "--out", tmp_path / "e", "--no-eval"],
    ):
        fails_cleanly(cli(*args), "No space left on device")
        assert snapshot(tmp_path) == before
    assert not (tmp_path / "e").exists()
