"""The conditional flow-matching loss and the training times."""

import torch

from flowmatch.loss import flow_matching_loss, sample_time
from flowmatch.paths import make_path


def test_loss_is_zero_for_the_exact_conditional_target():
    path = make_path("condot")
    x0, x1, t = torch.randn(8, 2), torch.randn(8, 2), torch.rand(8)

    def oracle(x, tt):  # u_t(x | x1) evaluated at the batch's own x1
        return path.conditional_velocity(x, x1, tt)

    assert flow_matching_loss(oracle, path, x0, x1, t).item() < 1e-10
    assert flow_matching_loss(lambda x, tt: torch.zeros_like(x), path, x0, x1, t).item() > 0.1


def test_sample_time_kinds():
    g = torch.Generator().manual_seed(0)
    for kind in ("uniform", "logit-normal"):
        t = sample_time(10000, kind, g)
        assert t.shape == (10000,) and (t > 0).all() and (t < 1).all()
        assert abs(t.mean().item() - 0.5) < 0.02
    # logit-normal puts less mass near the ends than uniform
    assert (sample_time(10000, "logit-normal", g) < 0.05).float().mean() < 0.02


def test_loss_passes_conditioning_to_the_model():
    path = make_path("condot")
    x0, x1, t, y = torch.randn(4, 2), torch.randn(4, 2), torch.rand(4), torch.tensor([0, 1, 2, 3])
    seen = {}

    def model(x, tt, y=None):
        seen["y"] = y
        return x1 - x0

    assert flow_matching_loss(model, path, x0, x1, t, y=y).item() < 1e-10
    assert torch.equal(seen["y"], y)
