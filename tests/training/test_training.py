"""Training: a Gaussian-to-Gaussian flow learns the right moments; resume is bit for bit; EMA."""

import numpy as np
import pytest
import torch

from flowmatch.checkpoint import load_checkpoint
from flowmatch.errors import FlowmatchError
from flowmatch.sampling import sample_run
from flowmatch.training import EMA, TrainConfig, Trainer, flow_matching_loss, load_run, train
from flowmatch.paths import make_path


def test_flow_from_gaussian_to_shifted_gaussian_has_right_moments(tmp_path):
    mu = np.array([2.0, -1.0])
    cov = np.array([[1.0, 0.6], [0.6, 0.5]])
    pts = np.random.default_rng(0).multivariate_normal(mu, cov, size=20000).astype(np.float32)
    np.save(tmp_path / "gauss.npy", pts)
    cfg = TrainConfig(data=str(tmp_path / "gauss.npy"), out=str(tmp_path / "run"), steps=1500, hidden=64, progress=False, save_every=1500)
    train(cfg)
    run = load_run(tmp_path / "run")
    x = sample_run(run, 8000, solver="rk4", steps=10, seed=5).x.double().numpy()
    np.testing.assert_allclose(x.mean(0), mu, atol=0.08)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.12)


def test_resume_continues_bit_for_bit(tmp_path):
    common = dict(data="moons", steps=40, batch_size=64, hidden=16, depth=2, save_every=20, log_every=5, progress=False, coupling="ot")
    straight = TrainConfig(out=str(tmp_path / "a"), **common)
    train(straight)
    # the same run, stopped after its checkpoint at step 20 (as a killed process would be) ...
    cut = TrainConfig(out=str(tmp_path / "b"), **common)
    t = Trainer(cut)
    t.run_dir.mkdir(parents=True)
    for _ in range(20):
        t.train_step()
    t.save()
    for _ in range(7):  # steps after the checkpoint are lost with the process
        t.train_step()
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


def test_ema_is_exponential_average_with_warmup():
    lin = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(0.0)
    ema = EMA(lin, decay=0.9)
    assert ema.decay_at(0) == 0.1 and ema.decay_at(1000) == 0.9
    for step, value in ((0, 1.0), (1000, 3.0)):
        with torch.no_grad():
            lin.weight.fill_(value)
        ema.update(lin, step)
    # step 0: d = 0.1 -> 0.1 * 0 + 0.9 * 1 = 0.9; step 1000: d = 0.9 -> 0.9 * 0.9 + 0.1 * 3 = 1.11
    assert abs(ema.model.weight.item() - 1.11) < 1e-6


def test_loss_is_zero_for_the_exact_conditional_target():
    path = make_path("condot")
    x0, x1, t = torch.randn(8, 2), torch.randn(8, 2), torch.rand(8)

    def oracle(x, tt):  # u_t(x | x1) evaluated at the batch's own x1
        return path.conditional_velocity(x, x1, tt)

    assert flow_matching_loss(oracle, path, x0, x1, t).item() < 1e-10
    assert flow_matching_loss(lambda x, tt: torch.zeros_like(x), path, x0, x1, t).item() > 0.1


def test_automatic_learning_rate_and_negative_rate():
    # lr 0 (the default) resolves by coupling and model when the config is made, and is saved so
    assert TrainConfig().lr == pytest.approx(1e-3)
    assert TrainConfig(coupling="ot").lr == pytest.approx(3e-3)
    assert TrainConfig(coupling="ot", model="unet").lr == pytest.approx(1e-3)
    assert TrainConfig(coupling="ot", lr=5e-4).lr == pytest.approx(5e-4)
    with pytest.raises(FlowmatchError, match="lr must be > 0"):
        TrainConfig(lr=-1.0)
