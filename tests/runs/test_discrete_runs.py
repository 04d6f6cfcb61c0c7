"""Discrete runs in run directories: resumed bit for bit, loaded with their vocabulary; samples follow the seed."""

from __future__ import annotations

from pathlib import Path

import torch

from flowmatch.runs import CHECKPOINT, load_checkpoint, load_run, sample_tokens, save_checkpoint, train
from flowmatch.training import TrainConfig, Trainer


def test_discrete_resume_continues_bit_for_bit(tmp_path):
    common = dict(data="discrete-checkerboard", steps=20, batch_size=32, hidden=16, depth=1, save_every=10, log_every=5, progress=False)
    train(TrainConfig(out=str(tmp_path / "a"), **common))
    cut = TrainConfig(out=str(tmp_path / "b"), **common)
    t = Trainer(cut)
    Path(cut.out).mkdir(parents=True)
    for _ in range(10):
        t.train_step()
    save_checkpoint(t.state_dict(), Path(cut.out) / CHECKPOINT)
    for _ in range(4):  # lost with the process
        t.train_step()
    t.pipeline.close()
    train(cut, resume=True)
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a["step"] == b["step"] == 20 and a["vocab_size"] == 128
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_loaded_run_is_discrete_with_its_vocabulary(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("abcd" * 30, encoding="utf-8")
    train(TrainConfig(data=str(text), seq_len=8, steps=3, batch_size=4, embed_dim=16, layers=1, heads=2, out=str(tmp_path / "r"), progress=False))
    run = load_run(tmp_path / "r")
    assert run.discrete and run.path.vocab_size == 4 and run.path.mask_token == 4 and run.data.vocabulary == "abcd"
    res = sample_tokens(run, 5, steps=3, seed=1)
    assert res.x.shape == (5, 8) and res.nfe == 3 and int(res.x.max()) < 4
    assert torch.equal(res.x, sample_tokens(run, 5, steps=3, seed=1).x)  # the seed decides the draw
