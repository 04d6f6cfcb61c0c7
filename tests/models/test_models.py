"""The MLP velocity network and the time embedding."""

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.models import build_model
from flowmatch.models.embeddings import sinusoidal_embedding


def test_mlp_shapes_and_time_dependence():
    m = build_model("mlp", (3,), hidden=32, depth=2)
    x = torch.randn(5, 3)
    out0, out1 = m(x, torch.zeros(5)), m(x, torch.ones(5))
    assert out0.shape == (5, 3)
    assert not torch.allclose(out0, out1)


def test_class_conditional_mlp_uses_labels_and_null_class():
    m = build_model("mlp", (2,), num_classes=4, hidden=16, depth=1)
    x, t = torch.randn(6, 2), torch.rand(6)
    a, b = m(x, t, y=torch.zeros(6, dtype=torch.long)), m(x, t, y=torch.full((6,), 3))
    assert not torch.allclose(a, b)
    torch.testing.assert_close(m(x, t), m(x, t, y=torch.full((6,), 4)))  # no label = null class


def test_sinusoidal_embedding_values():
    t = torch.tensor([0.0, 0.5])
    e = sinusoidal_embedding(t, 8)
    assert e.shape == (2, 8)
    torch.testing.assert_close(e[0], torch.tensor([1.0] * 4 + [0.0] * 4))  # cos 0 = 1, sin 0 = 0
    assert abs(e[1, 0].item() - torch.cos(torch.tensor(500.0)).item()) < 1e-5  # slowest... first freq = 1


def test_unknown_model_and_wrong_shape():
    with pytest.raises(FlowmatchError, match="unknown model"):
        build_model("vit", (2,))
    with pytest.raises(FlowmatchError, match="shape"):
        build_model("mlp", (1, 8, 8))
