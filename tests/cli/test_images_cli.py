"""End to end on the embedded `digits` set through the CLI, and the one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import cli, fails_cleanly

TINY = ["--model", "unet", "--channels", "8", "--channel-mults", "1,2", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    r = cli("train", "--data", "digits", "--out", str(out), "--steps", "3", "--sample-every", "3", *TINY)
    assert r.returncode == 0, r.stderr
    return out


def test_train_writes_grid_and_sample_all(digits_run, tmp_path):
    assert (digits_run / "samples" / "step_0000003.png").is_file()
    r = cli("sample", str(digits_run), "--n", "20", "--class", "all", "--guidance", "2", "--steps", "1", "--out", str(tmp_path / "all.png"))
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["n"] == 20 and rec["nfe"] == 2 and rec["class"] == "all" and rec["guidance"] == 2.0
    from PIL import Image

    with Image.open(tmp_path / "all.png") as img:  # 10 rows of 2 cells of 8 px, enlarged x4, 1 px padding
        assert img.size == ((2 * 9 + 1) * 4, (10 * 9 + 1) * 4)


def test_sample_npy_class_and_unconditional(digits_run, tmp_path):
    r = cli("sample", str(digits_run), "--n", "6", "--class", "3", "--guidance", "2", "--steps", "1", "--out", str(tmp_path / "x.npy"))
    assert r.returncode == 0, r.stderr
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (6, 1, 8, 8) and x.min() >= -1 and x.max() <= 1
    r = cli("sample", str(digits_run), "--n", "4", "--steps", "1", "--solver", "euler", "--out", str(tmp_path / "u.npy"))
    assert r.returncode == 0 and json.loads(r.stdout)["nfe"] == 1


def test_class_out_of_range(digits_run, tmp_path):
    fails_cleanly(cli("sample", str(digits_run), "--n", "2", "--class", "10", "--out", str(tmp_path / "a.png")), "class 10", "0..9")
    fails_cleanly(cli("sample", str(digits_run), "--n", "2", "--class", "x", "--out", str(tmp_path / "a.png")), "--class")
    fails_cleanly(cli("sample", str(digits_run), "--n", "2", "--trajectory", str(tmp_path / "t.png"), "--out", str(tmp_path / "a.png")), "--trajectory")


def test_bad_image_size_and_missing_files(tmp_path):
    fails_cleanly(cli("train", "--data", "digits", "--image-size", "2", "--out", str(tmp_path / "r")), "--image-size")
    fails_cleanly(cli("train", "--data", "digits", "--model", "unet", "--image-size", "10", "--out", str(tmp_path / "r")), "divisible")
    fails_cleanly(cli("train", "--data", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")), "train-images-idx3-ubyte.gz", str(tmp_path))
    fails_cleanly(cli("train", "--data", "cifar10", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "r")), "does not exist")
    fails_cleanly(cli("train", "--data", "moons", "--image-size", "16", "--out", str(tmp_path / "r")), "image data only")
