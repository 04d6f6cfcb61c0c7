"""Training on labelled and conditioned points: pairs stay within their class, label dropout comes
after pairing, and the trained flows follow their labels and conditions."""

import numpy as np
import pytest
import torch

from flowmatch.data import ArrayData
from flowmatch.errors import FlowmatchError
from flowmatch.runs import load_run, sample_run, train
from flowmatch.training import TrainConfig, Trainer, fit

CENTRES = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])


def three_blobs(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(3, size=n)
    return (CENTRES[y] + 0.3 * rng.standard_normal((n, 2))).astype(np.float32), y


@pytest.mark.parametrize("coupling", ["ot", "sinkhorn"])
def test_batches_pair_within_classes_and_drop_labels_after_pairing(coupling):
    x, y = three_blobs()
    data = ArrayData(x, labels=y)
    cfg = TrainConfig(data="blobs", coupling=coupling, batch_size=96, cond_drop=0.3, prefetch=0, ot_block=0, progress=False)
    trainer = Trainer(cfg, data)
    dropped = 0
    for _ in range(4):
        ahead = torch.Generator()
        ahead.set_state(trainer.generator.get_state())
        drawn = data.sample(cfg.batch_size, ahead).y  # the labels each row's x0 was drawn for
        batch = trainer.pipeline.next()
        labels = batch.cond["y"]
        null = labels == data.num_classes
        dropped += int(null.sum())
        assert torch.equal(labels[~null], drawn[~null])  # never paired across classes
        # and each x1 carries its own class (the blobs are far apart)
        nearest = torch.cdist(batch.x1, torch.from_numpy(CENTRES).float()).argmin(1)
        assert torch.equal(nearest, drawn)
    assert 0.15 < dropped / (4 * cfg.batch_size) < 0.45
    # plain OT pairs by the points alone: labels (travelling with their x1) leave their rows
    plain = Trainer(cfg.replace(condition_aware=False, cond_drop=0.0), data)
    ahead = torch.Generator()
    ahead.set_state(plain.generator.get_state())
    drawn = data.sample(cfg.batch_size, ahead).y
    batch = plain.pipeline.next()
    nearest = torch.cdist(batch.x1, torch.from_numpy(CENTRES).float()).argmin(1)
    assert torch.equal(nearest, batch.cond["y"]) and not torch.equal(batch.cond["y"], drawn)


def test_class_conditional_points_train_and_sample_by_class(tmp_path):
    x, y = three_blobs(4000)
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    cfg = TrainConfig(data=str(tmp_path / "blobs.npz"), out=str(tmp_path / "run"), coupling="ot", ot_block=64, steps=800, hidden=64, progress=False, save_every=800)
    train(cfg)
    run = load_run(tmp_path / "run")
    assert run.data.num_classes == 3
    for k in range(3):
        s = sample_run(run, 1000, method="midpoint", steps=4, y=torch.full((1000,), k)).x
        assert np.allclose(s.mean(0).cpu().numpy(), CENTRES[k], atol=0.25), (k, s.mean(0))
    # unconditional (the null class): a mixture of the three
    s = sample_run(run, 3000, method="midpoint", steps=4).x
    share = torch.cdist(s.cpu(), torch.from_numpy(CENTRES).float()).argmin(1).bincount(minlength=3) / 3000
    assert (share > 0.2).all()


def test_continuous_conditions_train_and_sample(tmp_path):
    rng = np.random.default_rng(1)
    c = rng.uniform(-2, 2, size=(4000, 1))
    x = (np.hstack([c, -c]) + 0.2 * rng.standard_normal((4000, 2))).astype(np.float32)
    data = ArrayData(x, conditions=c)
    # blocks of 64 keep the test fast (pools of 1,024 rows are tested with the pipeline)
    res = fit(TrainConfig(data="cond", coupling="ot", ot_block=64, steps=800, hidden=64, progress=False, device="cpu"), data)
    from flowmatch.solvers import solve

    x0 = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    for value in (-1.5, 1.0):
        out = solve(res.model, x0, method="midpoint", steps=4, cond={"c": torch.full((1000, 1), value)}).x
        assert np.allclose(out.mean(0).numpy(), [value, -value], atol=0.2), (value, out.mean(0))
    with pytest.raises(FlowmatchError, match="conditioned on 1"):
        res.model(x0, torch.zeros(1000))


@pytest.mark.parametrize("coupling,options", [("partial", {"partial_mass": 0.75}), ("unbalanced", {"unbalanced_reg_m": 0.05})])
def test_weighted_couplings_put_their_weights_in_the_loss(coupling, options):
    cfg = TrainConfig(data="moons", coupling=coupling, batch_size=64, steps=3, hidden=8, depth=1, progress=False, **options)
    trainer = Trainer(cfg)
    batch = trainer.pipeline.next()
    assert batch.weight.shape == (64,) and batch.weight.mean().item() == pytest.approx(1.0, rel=1e-5)
    if coupling == "partial":  # a quarter of the source points are left out of the loss
        assert int((batch.weight < 1e-6).sum()) == 16
    assert np.isfinite(trainer.train_step())
