"""U-Net and simple-CNN velocity networks: shapes, labels, the null class, errors."""

from __future__ import annotations

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.models import build_model

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("num_classes", [0, 10])
def test_unet_shapes(shape, num_classes):
    torch.manual_seed(0)
    m = build_model("unet", shape, num_classes=num_classes, channels=8, channel_mults="1,2", dropout=0.1).eval()
    x, t = torch.randn(3, *shape), torch.rand(3)
    y = torch.tensor([0, 5, 9]) if num_classes else None
    out = m(x, t, y=y)
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("shape", SHAPES)
def test_simple_cnn_shapes(shape):
    m = build_model("simple-cnn", shape, num_classes=10, channels=8, depth=2)
    x = torch.randn(2, *shape)
    assert m(x, torch.rand(2), y=torch.tensor([1, 2])).shape == x.shape
    assert m(x, torch.rand(2)).shape == x.shape


def _randomise(m):
    # zero-initialised output layers make a fresh U-Net output 0; perturb to test behaviour
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


def test_unet_patch_attention_and_labels_matter():
    torch.manual_seed(0)
    m = _randomise(build_model("unet", (1, 28, 28), num_classes=10, channels=8, channel_mults="1,2", patch_size=2, attn_resolutions="7,14")).eval()
    x, t = torch.randn(2, 1, 28, 28), torch.rand(2)
    a, b = m(x, t, y=torch.tensor([1, 1])), m(x, t, y=torch.tensor([2, 2]))
    assert a.shape == x.shape and not torch.allclose(a, b)
    # y=None is the null class (index num_classes)
    torch.testing.assert_close(m(x, t), m(x, t, y=torch.tensor([10, 10])))


def test_unet_samples_are_independent_of_the_batch():
    """GroupNorm normalises per sample: a sample's output does not depend on its neighbours."""
    torch.manual_seed(0)
    m = _randomise(build_model("unet", (1, 8, 8), num_classes=3, channels=8, channel_mults="1,2")).eval()
    x, t, y = torch.randn(4, 1, 8, 8), torch.rand(4), torch.tensor([0, 1, 2, 3])
    full = m(x, t, y=y)
    torch.testing.assert_close(full[:2], m(x[:2], t[:2], y=y[:2]), atol=1e-5, rtol=1e-4)


def test_unet_size_errors():
    with pytest.raises(FlowmatchError, match="divisible by 4"):
        build_model("unet", (1, 10, 10), channel_mults="1,2,2")
    with pytest.raises(FlowmatchError, match="patch"):
        build_model("unet", (1, 28, 28), patch_size=3)
    with pytest.raises(FlowmatchError, match="shape \\(C, H, W\\)"):
        build_model("unet", (2,))
    with pytest.raises(FlowmatchError, match="channel-mults"):
        build_model("unet", (1, 8, 8), channel_mults="1,x")
    with pytest.raises(FlowmatchError, match="takes points"):
        build_model("mlp", (1, 8, 8))


def test_options_of_another_architecture_are_refused_by_name():
    with pytest.raises(FlowmatchError, match="hidden") as err:
        build_model("unet", (1, 8, 8), hidden=3)
    assert "\n" not in str(err.value) and "unet" in str(err.value)
    with pytest.raises(FlowmatchError, match="channel_mults"):
        build_model("simple-cnn", (1, 8, 8), channel_mults="1,2")
    with pytest.raises(FlowmatchError, match="channels"):
        build_model("mlp", (2,), channels=8)
