"""Training image models: label dropout, bf16, channels-last, the time budget, resume, compile."""

from __future__ import annotations

import torch

from flowmatch.runs import train
from flowmatch.training import TrainConfig, Trainer, default_callbacks


def test_label_dropout_bf16_channels_last_and_time_budget(tmp_path):
    cfg = TrainConfig(
        data="digits", out=str(tmp_path / "r"), model="simple-cnn", channels=8, depth=2, batch_size=8, steps=1000, max_minutes=1e-6, precision="bf16", channels_last=True, cond_drop=0.5, progress=False
    )
    tr = Trainer(cfg)
    res = tr.fit(default_callbacks(cfg))
    assert res.step == 1 and res.stopped == "max-minutes"
    assert tr.model.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    # in a run directory, a run stopped by --max-minutes keeps its last checkpoint
    assert train(cfg).step == 1 and (tmp_path / "r" / "checkpoint.pt").is_file()


def test_image_run_resumes_bit_for_bit(tmp_path):
    """Label dropout draws from the run's generator, so a resumed image run matches an unbroken one."""
    base = dict(data="digits", model="simple-cnn", channels=4, depth=2, batch_size=8, save_every=2, progress=False, lr_schedule="constant")
    train(TrainConfig(out=str(tmp_path / "a"), steps=4, **base))
    train(TrainConfig(out=str(tmp_path / "b"), steps=2, **base))
    train(TrainConfig(out=str(tmp_path / "b"), steps=4, **base), resume=True)
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_compile_keeps_plain_state_dict(tmp_path):
    tr = Trainer(TrainConfig(data="digits", out=str(tmp_path / "c"), model="simple-cnn", channels=4, depth=2, compile=True, progress=False))
    assert tr.forward is not tr.model
    assert not any(k.startswith("_orig_mod") for k in tr.state_dict()["model"])
