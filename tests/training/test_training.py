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


def test_text_trains_by_cross_entropy_at_2e3_and_options_given_win():
    text = TrainConfig(data="play.txt")
    assert (text.model, text.discrete_loss, text.lr) == ("transformer", "ce", pytest.approx(2e-3))
    given = TrainConfig(data="play.txt", discrete_loss="kl", lr=5e-4)
    assert (given.discrete_loss, given.lr) == ("kl", pytest.approx(5e-4))
    board = TrainConfig(data="discrete-checkerboard")
    assert (board.model, board.discrete_loss, board.lr) == ("token-mlp", "kl", pytest.approx(1e-3))


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


@pytest.mark.parametrize("plan", [True, False])
def test_a_budget_schedule_anneals_by_the_deadline(monkeypatch, plan):
    """--budget-schedule: the schedule's length is planned from the pace, so a run stopped by the
    clock ends at the cosine's floor (10% of lr) instead of near its start rate. A fake clock makes
    each step take 0.1 s: a one-minute budget holds 600 steps of the configured 10^6."""
    from flowmatch.training.callbacks import BaseCallback, Deadline

    clock = [0.0]
    monkeypatch.setattr("time.perf_counter", lambda: clock[0])

    class Tick(BaseCallback):
        def on_step_end(self, trainer, loss):
            clock[0] += 0.1

    cfg = TrainConfig(data="moons", steps=10**6, batch_size=16, hidden=8, depth=1, lr=1e-3, progress=False, prefetch=0, max_minutes=1.0, budget_schedule=plan)
    trainer = Trainer(cfg)
    res = trainer.fit([Tick(), Deadline(cfg.max_minutes, plan_schedule=cfg.budget_schedule)])
    assert res.stopped == "max-minutes" and 599 <= res.step <= 602
    lr = trainer.optimizer.param_groups[0]["lr"]
    if plan:
        assert 575 <= trainer.schedule_steps <= 600 and lr == pytest.approx(1e-4, rel=0.02)
    else:
        assert trainer.schedule_steps == 10**6 and lr > 0.99e-3
    # the plan travels with the state (exact resume); without --budget-schedule the config's steps rule
    again = Trainer(cfg)
    again.load_state_dict(trainer.state_dict())
    assert again.schedule_steps == trainer.schedule_steps
    other = Trainer(dataclasses.replace(cfg, budget_schedule=not plan))
    other.load_state_dict(trainer.state_dict())
    assert other.schedule_steps == (trainer.schedule_steps if not plan else 10**6)
