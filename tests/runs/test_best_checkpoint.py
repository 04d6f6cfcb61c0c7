"""--val-data on flat data: the validation NLL (points) or loss (where the likelihood is not offered), best.pt, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flowmatch.likelihood import log_likelihood
from flowmatch.runs import load_run, train
from flowmatch.training import TrainConfig

TINY = {"hidden": 16, "depth": 2, "batch_size": 64, "progress": False}


@pytest.fixture()
def val_file(tmp_path):
    x = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    np.save(tmp_path / "val.npy", x)
    return tmp_path / "val.npy", torch.from_numpy(x)


def test_validation_nll_selects_best_pt(tmp_path, val_file):
    path, x = val_file
    cfg = TrainConfig(data="moons", out=str(tmp_path / "run"), steps=30, val_data=str(path), val_every=10, **TINY)
    train(cfg)
    lines = [json.loads(s) for s in (tmp_path / "run" / "validation.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [10, 20, 30]
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["metric"] == "val_nll" and best["value"] == pytest.approx(min(r["val_nll"] for r in lines))
    # the recorded figure is the NLL of the validation points under best.pt's weights (same solver)
    run = load_run(tmp_path / "run", checkpoint="best")
    assert run.step == best["step"]
    nll = log_likelihood(run.model, x, method="midpoint", steps=32).nll
    assert nll == pytest.approx(best["value"], rel=1e-4)


def test_bridge_runs_validate_by_the_loss_and_resume_keeps_the_best(tmp_path, val_file):
    path, _ = val_file
    cfg = TrainConfig(data="moons", out=str(tmp_path / "run"), steps=20, path="bridge", val_data=str(path), val_every=10, **TINY)
    train(cfg)
    first = json.loads((tmp_path / "run" / "best.json").read_text())
    assert first["metric"] == "val_loss"
    train(cfg.replace(steps=40), resume=True)
    lines = [json.loads(s) for s in (tmp_path / "run" / "validation.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [10, 20, 30, 40]
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["value"] == pytest.approx(min(r["val_loss"] for r in lines))
