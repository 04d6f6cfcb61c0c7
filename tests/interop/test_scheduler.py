"""The diffusers-style scheduler against the Euler solver, closed forms and diffusers itself."""

from __future__ import annotations

import json

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.interop import FlowMatchEulerScheduler, SchedulerConfig, to_diffusers_timestep
from flowmatch.solvers import solve

MU, S = torch.tensor([2.0, -1.0, 0.5]), 0.5  # data N(MU, S^2 I), source N(0, I)


def gaussian_velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Marginal condot field for N(0, I) -> N(MU, S^2 I): E[x1 - x0 | x_t = x], x: (B, 3), t: (B,)."""
    t = t[:, None].to(x.dtype)
    var = t**2 * S**2 + (1 - t) ** 2
    return MU + (t * S**2 - (1 - t)) / var * (x - t * MU)


def run_scheduler(scheduler: FlowMatchEulerScheduler, x: torch.Tensor, steps: int) -> torch.Tensor:
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        x = scheduler.step(gaussian_velocity(x, t.expand(x.shape[0])), t, x).prev_sample
    return x


def x0_batch(n: int = 256) -> torch.Tensor:
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(0))


def test_uniform_scheduler_equals_euler_solver():
    x0 = x0_batch()
    ours = run_scheduler(FlowMatchEulerScheduler(), x0, 10)
    ref = solve(gaussian_velocity, x0, method="euler", steps=10)
    torch.testing.assert_close(ours, ref.x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_diffusers_spacing_equals_euler_on_its_grid(shift):
    sched = FlowMatchEulerScheduler(spacing="diffusers", shift=shift)
    x0 = x0_batch()
    ours = run_scheduler(sched, x0, 8)
    assert sched.times[0] == 0.0 and sched.times[-1] == 1.0 and len(sched.timesteps) == 8
    ref = solve(gaussian_velocity, x0, method="euler", grid=sched.times)
    torch.testing.assert_close(ours, ref.x, rtol=0, atol=1e-6)


def test_scheduler_converges_to_exact_map_at_first_order():
    # The exact flow of the Gaussian field maps x0 to MU + S x0 at t = 1.
    x0 = x0_batch()
    exact = MU + S * x0
    errors = [(run_scheduler(FlowMatchEulerScheduler(), x0, n) - exact).abs().max().item() for n in (20, 40, 80)]
    assert errors[-1] < 0.05
    orders = [torch.log2(torch.tensor(a / b)).item() for a, b in zip(errors, errors[1:])]
    assert all(0.8 < p < 1.2 for p in orders), orders


def test_scale_noise_and_x1_estimate_follow_the_condot_path():
    g = torch.Generator().manual_seed(1)
    x1, noise, t = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), torch.rand(4, generator=g)
    sched = FlowMatchEulerScheduler()
    torch.testing.assert_close(sched.scale_noise(x1, t, noise), t[:, None] * x1 + (1 - t[:, None]) * noise)
    torch.testing.assert_close(sched.scale_noise(x1, 0.25, noise), 0.25 * x1 + 0.75 * noise)
    # With the exact conditional velocity x1 - noise, one step's x1 estimate recovers x1.
    sched.set_timesteps(4)
    tk = sched.timesteps[1]
    xt = sched.scale_noise(x1, tk, noise)
    out = sched.step(x1 - noise, tk, xt)
    torch.testing.assert_close(out.pred_original_sample, x1)
    torch.testing.assert_close(out.prev_sample, sched.scale_noise(x1, sched.times[2].item(), noise))


def test_step_is_stateless_and_checks_its_timestep():
    sched = FlowMatchEulerScheduler()
    x = x0_batch(8)
    with pytest.raises(FlowmatchError, match="set_timesteps"):
        sched.step(x, 0.0, x)
    sched.set_timesteps(5)
    t = sched.timesteps[2]
    a = sched.step(x, t, x).prev_sample
    b = sched.step(x, t, x).prev_sample  # the same step again: no hidden counter moved
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, x + 0.2 * x)
    with pytest.raises(FlowmatchError, match="not on this scheduler's grid"):
        sched.step(x, 0.5, x)
    with pytest.raises(FlowmatchError, match="one timestep"):
        sched.step(x, torch.tensor([0.2, 0.4]), x)
    assert sched.step(x, t, x, return_dict=False)[0].shape == x.shape


def test_config_round_trip_and_bad_configs(tmp_path):
    sched = FlowMatchEulerScheduler(spacing="diffusers", shift=2.0, num_train_timesteps=500)
    path = sched.save_config(tmp_path / "sched")
    saved = json.loads(path.read_text())
    assert saved["_class_name"] == "FlowMatchEulerScheduler" and saved["shift"] == 2.0
    back = FlowMatchEulerScheduler.from_pretrained(tmp_path / "sched")
    assert back.config == sched.config
    assert FlowMatchEulerScheduler.from_config(saved).config == sched.config
    assert FlowMatchEulerScheduler.from_config(sched.config, shift=1.0).config.shift == 1.0
    with pytest.raises(FlowmatchError, match="unknown scheduler option"):
        FlowMatchEulerScheduler.from_config({"shift": 1.0, "use_karras_sigmas": True})
    with pytest.raises(FlowmatchError, match="spacing"):
        SchedulerConfig(spacing="karras")
    with pytest.raises(FlowmatchError, match="no scheduler_config.json"):
        FlowMatchEulerScheduler.from_pretrained(tmp_path / "missing")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FlowmatchError, match="corrupt"):
        FlowMatchEulerScheduler.from_pretrained(tmp_path / "bad.json")


# -- against diffusers itself (optional extra) -------------------------------------------------
@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_matches_diffusers_flow_match_euler(shift):
    diffusers = pytest.importorskip("diffusers")
    ref = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    ours = FlowMatchEulerScheduler(spacing="diffusers", shift=shift, num_train_timesteps=1000)
    n = 12
    ref.set_timesteps(n)
    ours.set_timesteps(n)
    torch.testing.assert_close(to_diffusers_timestep(ours.timesteps), ref.timesteps, rtol=0, atol=1e-3)

    x_ref = x_ours = x0_batch(64)
    for ts, t in zip(ref.timesteps, ours.timesteps):
        v = gaussian_velocity(x_ours, t.expand(64))
        # Same model outputs in each library's convention: diffusers wants dx/dsigma = -v.
        x_ref = ref.step(-gaussian_velocity(x_ref, (1 - ts / 1000).expand(64)), ts, x_ref).prev_sample
        x_ours = ours.step(v, t, x_ours).prev_sample
    torch.testing.assert_close(x_ours, x_ref, rtol=0, atol=1e-5)

    # The forward process agrees too: diffusers' (1 - sigma) x1 + sigma noise at sigma = 1 - t.
    g = torch.Generator().manual_seed(2)
    x1, noise = torch.randn(3, 3, generator=g), torch.randn(3, 3, generator=g)
    ts = ref.timesteps[[1, 4, 7]]
    torch.testing.assert_close(ours.scale_noise(x1, 1 - ts / 1000, noise), ref.scale_noise(x1, ts, noise), rtol=0, atol=1e-6)


# -- other paths, and the first import path ------------------------------------------------------
def test_ve_path_scheduler_starts_from_its_source_scale_and_stays_finite():
    sched = FlowMatchEulerScheduler(path="ve")
    assert sched.init_noise_sigma == pytest.approx(10.0)  # VE: sigma_max, the source's scale
    assert FlowMatchEulerScheduler(path="ve", sigma_max=5.0).init_noise_sigma == pytest.approx(5.0)
    assert FlowMatchEulerScheduler().init_noise_sigma == pytest.approx(1.0)
    sched.set_timesteps(6)
    x0 = sched.init_noise_sigma * x0_batch(16)
    x = x0
    for t in sched.timesteps:
        out = sched.step(torch.zeros_like(x), t, x)  # a zero velocity: x stays where it is
        assert torch.isfinite(out.prev_sample).all() and torch.isfinite(out.pred_original_sample).all()
        x = out.prev_sample
    torch.testing.assert_close(x, x0)
    noisy = sched.scale_noise(torch.zeros(4, 3), 0.0, torch.ones(4, 3))
    torch.testing.assert_close(noisy, torch.full((4, 3), 10.0))  # x_0 = sigma_max x0 on the VE path


def test_a_path_parameter_the_path_does_not_take_is_refused():
    with pytest.raises(FlowmatchError, match="sigma_max"):
        FlowMatchEulerScheduler(sigma_max=3.0)  # condot takes sigma_min only
    with pytest.raises(FlowmatchError, match="unknown path"):
        FlowMatchEulerScheduler(path="zigzag")


def test_schedulers_module_still_reexports_the_scheduler():
    import flowmatch.interop as interop
    import flowmatch.schedulers as old

    for name in interop.__all__:
        assert getattr(old, name) is getattr(interop, name), name
