"""Training in memory: EMA, the automatic learning rate, the composed config, `fit`.

Training into a run directory (checkpoints, resume, load_run) is tested in tests/runs.
"""

import dataclasses

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.paths import PathConfig, VESchedule
from flowmatch.training import EMA, TrainConfig, Trainer, TrainResult, fit


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


def test_automatic_learning_rate_and_negative_rate():
    # lr 0 (the default) resolves by coupling and model when the config is made, and is saved so
    assert TrainConfig().lr == pytest.approx(1e-3)
    assert TrainConfig(coupling="ot").lr == pytest.approx(3e-3)
    assert TrainConfig(coupling="ot", model="unet").lr == pytest.approx(1e-3)
    assert TrainConfig(coupling="ot", lr=5e-4).lr == pytest.approx(5e-4)
    with pytest.raises(FlowmatchError, match="lr must be >= 0"):
        TrainConfig(lr=-1.0)


def test_config_is_frozen_and_replace_checks_like_a_new_config():
    cfg = TrainConfig(steps=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 11
    assert cfg.replace(steps=11).steps == 11 and cfg.steps == 10
    assert dataclasses.replace(cfg, data="circles").data == "circles"
    with pytest.raises(FlowmatchError, match="steps"):
        cfg.replace(steps=-1)
    with pytest.raises(FlowmatchError, match="sigma_max"):
        cfg.replace(sigma_max=3.0)  # condot does not take it
    ve = cfg.replace(path="ve", sigma_max=5.0)
    assert ve.part(PathConfig) == PathConfig(path="ve", sigma_max=5.0)
    assert ve.build_path().schedule == VESchedule(0.01, 5.0)


@pytest.mark.parametrize("key,value", [("steps", 1.5), ("steps", True), ("lr", "fast"), ("progress", 1)])
def test_config_refuses_values_of_the_wrong_type(key, value):
    with pytest.raises(FlowmatchError, match=key.replace("_", "-")):
        TrainConfig(**{key: value})


def test_fit_trains_in_memory_and_returns_the_sampling_model(tmp_path):
    cfg = TrainConfig(data="moons", out=str(tmp_path / "never"), steps=3, batch_size=16, hidden=8, depth=1, progress=False, device="cpu")
    res = fit(cfg)
    assert isinstance(res, TrainResult) and res.step == 3 and res.run_dir is None and res.stopped == ""
    assert res.model(torch.zeros(4, 2), torch.zeros(4)).shape == (4, 2) and not res.model.training
    assert not (tmp_path / "never").exists()  # no files: that is flowmatch.runs.train
    # fit() is the Trainer's loop: the same seed gives the same weights
    tr = Trainer(cfg)
    again = tr.fit([])
    for a, b in zip(res.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def test_a_trainer_takes_its_source_as_a_data_source():
    """`Trainer(config, data, source=...)`: the explorer's drawn source; batches' x0 come from it."""
    from flowmatch.data import ArrayData

    blob = ArrayData(torch.full((20, 2), 7.0), name="blob")
    trainer = Trainer(TrainConfig(data="moons", steps=2, batch_size=8, hidden=8, depth=1, progress=False, prefetch=0), source=blob)
    assert trainer.source is blob and torch.equal(trainer.draw_batch().x0, torch.full((8, 2), 7.0))
    trainer.train_step()
    with pytest.raises(FlowmatchError, match="source samples have shape"):
        Trainer(TrainConfig(data="moons", steps=2, hidden=8, depth=1, progress=False), source=ArrayData(torch.zeros(20, 3)))
