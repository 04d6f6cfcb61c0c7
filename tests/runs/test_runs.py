"""Training into a run directory and loading it back: moments of a trained flow, bit-for-bit
resume, seeds, and the path options of a run."""

from pathlib import Path

import numpy as np
import pytest
import torch

from flowmatch.paths import VESchedule
from flowmatch.runs import CHECKPOINT, load_checkpoint, load_run, sample_run, save_checkpoint, train
from flowmatch.training import TrainConfig, Trainer


def test_flow_from_gaussian_to_shifted_gaussian_has_right_moments(tmp_path):
    mu = np.array([2.0, -1.0])
    cov = np.array([[1.0, 0.6], [0.6, 0.5]])
    pts = np.random.default_rng(0).multivariate_normal(mu, cov, size=20000).astype(np.float32)
    np.save(tmp_path / "gauss.npy", pts)
    cfg = TrainConfig(data=str(tmp_path / "gauss.npy"), out=str(tmp_path / "run"), steps=1500, hidden=64, progress=False, save_every=1500)
    train(cfg)
    run = load_run(tmp_path / "run")
    x = sample_run(run, 8000, method="rk4", steps=10, seed=5).x.double().cpu().numpy()
    np.testing.assert_allclose(x.mean(0), mu, atol=0.08)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.12)


def test_resume_continues_bit_for_bit(tmp_path):
    common = dict(data="moons", steps=40, batch_size=64, hidden=16, depth=2, save_every=20, log_every=5, progress=False, coupling="ot", ot_block=64)
    straight = TrainConfig(out=str(tmp_path / "a"), **common)
    train(straight)
    # the same run, stopped after its checkpoint at step 20 (as a killed process would be) ...
    cut = TrainConfig(out=str(tmp_path / "b"), **common)
    t = Trainer(cut)
    run_dir = Path(cut.out)
    run_dir.mkdir(parents=True)
    for _ in range(20):
        t.train_step()
    save_checkpoint(t.state_dict(), run_dir / CHECKPOINT)
    for _ in range(7):  # steps after the checkpoint are lost with the process
        t.train_step()
    t.pipeline.close()
    # ... then resumed by a fresh process
    train(cut, resume=True)
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a["step"] == b["step"] == 40
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
        assert torch.equal(a["ema"][k], b["ema"][k]), k


def test_same_seed_same_result_and_different_seed_differs(tmp_path):
    kw = dict(data="circles", steps=15, batch_size=32, hidden=8, depth=1, progress=False)
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        train(TrainConfig(out=str(tmp_path / name), seed=seed, **kw))
    w = {n: load_checkpoint(tmp_path / n)["model"]["net.0.weight"] for n in "abc"}
    assert torch.equal(w["a"], w["b"]) and not torch.equal(w["a"], w["c"])


def test_every_schedule_parameter_is_kept_by_a_run(tmp_path):
    cfg = TrainConfig(data="moons", out=str(tmp_path / "ve"), path="ve", sigma_max=5.0, sigma_min=0.05, steps=2, hidden=8, depth=1, progress=False)
    res = train(cfg)
    assert res.run_dir == tmp_path / "ve"
    run = load_run(tmp_path / "ve")
    assert run.path.schedule == VESchedule(0.05, 5.0) and run.source.scale == pytest.approx(5.0)
    assert run.config == cfg
