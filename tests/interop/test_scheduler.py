"""The diffusers-style scheduler against the Euler solver, closed forms and diffusers itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.schedulers import FlowMatchEulerScheduler, SchedulerConfig, to_diffusers_timestep
from flowmatch.solvers import solve

SRC = Path(__file__).resolve().parents[1] / "src"
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


def test_missing_diffusers_is_a_one_line_error(monkeypatch):
    from flowmatch.models import build_model

    monkeypatch.setitem(sys.modules, "diffusers", None)  # makes `import diffusers` fail
    with pytest.raises(FlowmatchError, match=r"pip install 'flowmatch\[diffusers\]'"):
        build_model("diffusers-unet", (1, 8, 8))


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


def test_diffusers_unet_wrapper_shapes_and_conventions():
    pytest.importorskip("diffusers")
    from flowmatch.models import build_model

    torch.manual_seed(0)
    net = build_model("diffusers-unet", (1, 8, 8), num_classes=10, hidden=16, depth=2).eval()
    x, t, y = torch.randn(5, 1, 8, 8), torch.rand(5), torch.tensor([0, 3, 9, 10, 1])
    with torch.no_grad():
        v = net(x, t, y=y)
        assert v.shape == (5, 1, 8, 8)
        # v = -unet(x, (1 - t) * 1000): the raw UNet speaks diffusers' convention.
        torch.testing.assert_close(v, -net.unet(x, (1 - t) * 1000, class_labels=y).sample)
        # No label: the null class (index num_classes).
        torch.testing.assert_close(net(x, t), net(x, t, y=torch.full((5,), 10)))
        rgb = build_model("diffusers-unet", (3, 16, 12), hidden=8, depth=3)
        assert rgb(torch.randn(2, 3, 16, 12), torch.rand(2)).shape == (2, 3, 16, 12)
    # The U-Net options (--channels, --channel-mults, --num-res-blocks), when given, set the widths.
    small = build_model("diffusers-unet", (1, 8, 8), hidden=99, depth=5, channels=8, channel_mults="1,2", num_res_blocks=1)
    assert tuple(small.unet.config.block_out_channels) == (8, 16) and small.unet.config.layers_per_block == 1
    with pytest.raises(FlowmatchError, match="comma-separated integers"):
        build_model("diffusers-unet", (1, 8, 8), channel_mults="1;2")
    with pytest.raises(FlowmatchError, match="3 levels needs image sides divisible by 4"):
        build_model("diffusers-unet", (1, 10, 10), depth=3)
    with pytest.raises(FlowmatchError, match=r"images of shape \(C, H, W\)"):
        build_model("diffusers-unet", (2,))


def test_our_scheduler_drives_diffusers_unet_like_diffusers_does():
    diffusers = pytest.importorskip("diffusers")
    from flowmatch.models import build_model

    torch.manual_seed(0)
    net = build_model("diffusers-unet", (1, 8, 8), num_classes=10, hidden=16, depth=2).eval()
    y = torch.arange(4)
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    ref = diffusers.FlowMatchEulerDiscreteScheduler()
    ours = FlowMatchEulerScheduler(spacing="diffusers")
    ref.set_timesteps(6)
    ours.set_timesteps(6)
    x_ref = x_ours = x
    with torch.no_grad():
        for ts, t in zip(ref.timesteps, ours.timesteps):
            x_ref = ref.step(net.unet(x_ref, ts, class_labels=y).sample, ts, x_ref).prev_sample
            x_ours = ours.step(net(x_ours, t.expand(4), y=y), t, x_ours).prev_sample
    torch.testing.assert_close(x_ours, x_ref, rtol=0, atol=1e-4)


def test_diffusers_unet_trains_through_the_trainer(tmp_path):
    pytest.importorskip("diffusers")
    from flowmatch.data import Batch, DataSource
    from flowmatch.training import TrainConfig, Trainer

    class TinyImages(DataSource):
        shape, num_classes = (1, 8, 8), 3

        def sample(self, n, generator):
            return Batch(torch.rand(n, 1, 8, 8, generator=generator) * 2 - 1, torch.randint(3, (n,), generator=generator))

    cfg = TrainConfig(out=str(tmp_path / "run"), model="diffusers-unet", hidden=8, depth=2, steps=2, batch_size=4, progress=False)
    result = Trainer(cfg, data=TinyImages()).run()
    assert result.step == 2 and (tmp_path / "run" / "checkpoint.pt").exists()


def test_cli_rejects_diffusers_unet_on_points(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-m", "flowmatch", "train", "--data", "moons", "--model", "diffusers-unet", "--out", str(tmp_path / "r"), "--steps", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: model 'diffusers-unet' takes images of shape (C, H, W), got data of shape (2,)"]
