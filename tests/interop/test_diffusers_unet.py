"""diffusers' UNet2DModel as a velocity network (optional extra; skipped where diffusers is absent)."""

from __future__ import annotations

import sys

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.interop import FlowMatchEulerScheduler
from flowmatch.models import build_model


def test_missing_diffusers_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # makes `import diffusers` fail
    with pytest.raises(FlowmatchError, match=r"pip install 'flowmatch\[diffusers\]'"):
        build_model("diffusers-unet", (1, 8, 8))


def test_diffusers_unet_options_are_checked_before_diffusers_is_needed():
    """Option mistakes are one-line errors with or without the extra installed. The options
    are the U-Net's (channels, channel_mults, num_res_blocks, dropout); the MLP's hidden/depth,
    once ignored when the U-Net's were given, are refused by name."""
    with pytest.raises(FlowmatchError, match="hidden"):
        build_model("diffusers-unet", (1, 8, 8), hidden=99, channels=8, channel_mults="1,2", num_res_blocks=1)
    with pytest.raises(FlowmatchError, match="depth"):
        build_model("diffusers-unet", (1, 8, 8), depth=5, channels=8)
    with pytest.raises(FlowmatchError, match="comma-separated integers"):
        build_model("diffusers-unet", (1, 8, 8), channel_mults="1;2")
    with pytest.raises(FlowmatchError, match="3 levels needs image sides divisible by 4"):
        build_model("diffusers-unet", (1, 10, 10), channel_mults="1,2,2")
    with pytest.raises(FlowmatchError, match=r"images of shape \(C, H, W\)"):
        build_model("diffusers-unet", (2,))


def test_diffusers_unet_wrapper_shapes_and_conventions():
    pytest.importorskip("diffusers")
    torch.manual_seed(0)
    net = build_model("diffusers-unet", (1, 8, 8), num_classes=10, channels=16, channel_mults="1,2").eval()
    x, t, y = torch.randn(5, 1, 8, 8), torch.rand(5), torch.tensor([0, 3, 9, 10, 1])
    with torch.no_grad():
        v = net(x, t, y=y)
        assert v.shape == (5, 1, 8, 8)
        # v = -unet(x, (1 - t) * 1000): the raw UNet speaks diffusers' convention.
        torch.testing.assert_close(v, -net.unet(x, (1 - t) * 1000, class_labels=y).sample)
        # No label: the null class (index num_classes).
        torch.testing.assert_close(net(x, t), net(x, t, y=torch.full((5,), 10)))
        rgb = build_model("diffusers-unet", (3, 16, 12), channels=8, channel_mults="1,2,2")
        assert rgb(torch.randn(2, 3, 16, 12), torch.rand(2)).shape == (2, 3, 16, 12)
    # The U-Net options (--channels, --channel-mults, --num-res-blocks) set the widths.
    small = build_model("diffusers-unet", (1, 8, 8), channels=8, channel_mults="1,2", num_res_blocks=1)
    assert tuple(small.unet.config.block_out_channels) == (8, 16) and small.unet.config.layers_per_block == 1


def test_our_scheduler_drives_diffusers_unet_like_diffusers_does():
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    net = build_model("diffusers-unet", (1, 8, 8), num_classes=10, channels=16, channel_mults="1,2").eval()
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
    from flowmatch.runs import train
    from flowmatch.training import TrainConfig

    class TinyImages(DataSource):
        shape, num_classes = (1, 8, 8), 3

        def sample(self, n, generator):
            return Batch(torch.rand(n, 1, 8, 8, generator=generator) * 2 - 1, torch.randint(3, (n,), generator=generator))

    cfg = TrainConfig(out=str(tmp_path / "run"), model="diffusers-unet", channels=8, channel_mults="1,2", steps=2, batch_size=4, progress=False)
    result = train(cfg, data=TinyImages())
    assert result.step == 2 and (tmp_path / "run" / "checkpoint.pt").exists()
