"""End to end on the embedded `digits` set through the CLI, and the one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from _images_helpers import cli
from flowmatch.training import TrainConfig, Trainer

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


def _one_line_error(r, *words):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    for w in words:
        assert w in lines[0]


class _Result:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def _main(capsys, *args):
    """The CLI's main() in this process (same parsing and error path, without a Python start-up)."""
    from flowmatch.cli import main

    code = main(list(args))
    return _Result(code, capsys.readouterr().err)


def test_class_out_of_range(digits_run, tmp_path, capsys):
    _one_line_error(cli("sample", str(digits_run), "--n", "2", "--class", "10", "--out", str(tmp_path / "a.png")), "class 10", "0..9")
    _one_line_error(_main(capsys, "sample", str(digits_run), "--n", "2", "--class", "x", "--out", str(tmp_path / "a.png")), "--class")
    _one_line_error(_main(capsys, "sample", str(digits_run), "--n", "2", "--trajectory", str(tmp_path / "t.png"), "--out", str(tmp_path / "a.png")), "--trajectory")


def test_bad_image_size_and_missing_files(tmp_path, capsys):
    _one_line_error(cli("train", "--data", "digits", "--image-size", "2", "--out", str(tmp_path / "r")), "--image-size")
    _one_line_error(_main(capsys, "train", "--data", "digits", "--model", "unet", "--image-size", "10", "--out", str(tmp_path / "r")), "divisible")
    _one_line_error(_main(capsys, "train", "--data", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")), "train-images-idx3-ubyte.gz", str(tmp_path))
    _one_line_error(_main(capsys, "train", "--data", "cifar10", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "r")), "does not exist")
    _one_line_error(_main(capsys, "train", "--data", "moons", "--image-size", "16", "--out", str(tmp_path / "r")), "image data only")


def test_label_dropout_bf16_channels_last_and_time_budget(tmp_path):
    cfg = TrainConfig(data="digits", out=str(tmp_path / "r"), model="simple-cnn", channels=8, depth=2, batch_size=8, steps=1000,
                      max_minutes=1e-6, precision="bf16", channels_last=True, cond_drop=0.5, progress=False)
    tr = Trainer(cfg)
    res = tr.run()
    assert res.step == 1 and (tmp_path / "r" / "checkpoint.pt").is_file()  # stopped by --max-minutes
    assert tr.model.net[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_image_run_resumes_bit_for_bit(tmp_path):
    """Label dropout draws from the run's generator, so a resumed image run matches an unbroken one."""
    base = dict(data="digits", model="simple-cnn", channels=4, depth=2, batch_size=8, save_every=2, progress=False, lr_schedule="constant")
    Trainer(TrainConfig(out=str(tmp_path / "a"), steps=4, **base)).run()
    Trainer(TrainConfig(out=str(tmp_path / "b"), steps=2, **base)).run()
    Trainer(TrainConfig(out=str(tmp_path / "b"), steps=4, **base)).run(resume=True)
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_compile_keeps_plain_state_dict(tmp_path):
    tr = Trainer(TrainConfig(data="digits", out=str(tmp_path / "c"), model="simple-cnn", channels=4, depth=2, compile=True, progress=False))
    assert tr.forward is not tr.model
    assert not any(k.startswith("_orig_mod") for k in tr.state_dict()["model"])
