"""--logger tensorboard and wandb: the loss, learning rate and steps/s, and sample pictures at
--sample-every, beside log.jsonl; a missing package is one line before anything is written."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from flowmatch.runs.images import points_picture
from helpers import cli, fails_cleanly

TINY = ["--batch-size", "32", "--hidden", "16", "--depth", "1", "--log-every", "10", "--no-progress"]


def scalars(event_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(event_dir), size_guidance={"scalars": 0, "images": 0})
    ea.Reload()
    return ea


def test_tensorboard_event_file_has_the_loss_lr_speed_and_pictures(tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "tb"
    cli("train", "--data", "moons", "--out", run, "--steps", "40", "--sample-every", "20", "--logger", "tensorboard", *TINY, check=True)
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    ea = scalars(run / "tensorboard")
    assert {"train/loss", "train/lr", "train/steps_per_s"} <= set(ea.Tags()["scalars"])
    loss = ea.Scalars("train/loss")
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]  # log.jsonl stays
    assert [e.step for e in loss] == [r["step"] for r in logged] == [10, 20, 30, 40]
    np.testing.assert_allclose([e.value for e in loss], [r["loss"] for r in logged], rtol=1e-6)
    assert [e.step for e in ea.Images("samples")] == [20, 40]
    # a resume continues the same scalars, each step once
    cli("train", "--data", "moons", "--out", run, "--steps", "60", "--sample-every", "20", "--logger", "tensorboard", "--resume", *TINY, check=True)
    assert [e.step for e in scalars(run / "tensorboard").Scalars("train/loss")] == [10, 20, 30, 40, 50, 60]


def test_tensorboard_image_grid_for_an_image_run(tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "digits"
    args = ["--model", "unet", "--channels", "8", "--channel-mults", "1,2", "--batch-size", "8", "--no-progress"]
    cli("train", "--data", "digits", "--out", run, "--steps", "2", "--sample-every", "2", "--logger", "tensorboard", *args, check=True)
    ea = scalars(run / "tensorboard")
    (image,) = ea.Images("samples")
    assert image.step == 2 and image.width > 8 * 8 and (run / "samples" / "step_0000002.png").is_file()


def test_wandb_offline_without_a_network(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for var in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    run = tmp_path / "wb"
    r = cli("train", "--data", "moons", "--out", run, "--steps", "20", "--sample-every", "20", "--logger", "wandb", *TINY, check=True)
    assert json.loads(r.stdout)["step"] == 20  # stdout is still one JSON line
    (offline,) = (run / "wandb").glob("offline-run-*")
    assert list(offline.glob("*.wandb"))
    assert (run / "log.jsonl").is_file()


@pytest.mark.parametrize("logger,package", [("tensorboard", "tensorboard"), ("wandb", "wandb")])
def test_a_missing_logger_package_is_one_line_and_writes_nothing(tmp_path, monkeypatch, logger, package):
    monkeypatch.setitem(sys.modules, package, None)
    r = cli("train", "--data", "moons", "--out", tmp_path / "run", "--steps", "5", "--logger", logger, *TINY)
    fails_cleanly(r, f"--logger {logger}", f"flowmatch[{logger}]")
    assert not (tmp_path / "run").exists()


def test_the_logger_may_change_on_resume(tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    cli("train", "--data", "moons", "--out", run, "--steps", "10", *TINY, check=True)
    cli("train", "--data", "moons", "--out", run, "--steps", "20", "--resume", "--logger", "tensorboard", *TINY, check=True)
    assert [e.step for e in scalars(run / "tensorboard").Scalars("train/loss")] == [20]


def test_points_picture_is_a_dark_on_white_histogram():
    x = torch.cat([torch.randn(500, 2) * 0.1 + torch.tensor([1.0, 1.0]), torch.randn(500, 2) * 0.1 - 1.0])
    img = points_picture(x, size=64)
    assert img.shape == (64, 64) and img.dtype == np.uint8 and img.min() == 0 and img.max() == 255
    assert img[:32, 32:].min() < 128 and img[32:, :32].min() < 128  # (1, 1) top right, (-1, -1) bottom left
    assert img[:32, :32].min() > 128 and img[32:, 32:].min() > 128
    assert points_picture(torch.full((3, 2), float("nan"))).min() == 255
