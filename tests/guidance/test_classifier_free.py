"""Classifier-free guidance: the arithmetic, one forward pass, label dropout, label checks."""

from __future__ import annotations

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.guidance import GuidedVelocity, RowGuidedVelocity, check_labels, drop_labels, null_labels, rescale_guidance
from flowmatch.models import build_model

K = 4


class Affine(torch.nn.Module):
    """v(x, t, y) = a_y * x + b_y t, with a distinct (a, b) per label (null included); counts calls."""

    def __init__(self):
        super().__init__()
        self.a = torch.arange(1.0, K + 2)
        self.b = torch.arange(K + 1.0, 0, -1) * 0.5
        self.calls, self.batches = 0, []

    def forward(self, x, t, y=None):
        self.calls += 1
        self.batches.append(x.shape[0])
        y = torch.full((x.shape[0],), K) if y is None else y
        return self.a[y][:, None] * x + self.b[y][:, None] * t[:, None]


def _parts(y, x, t):
    m = Affine()
    return m(x, t, y=y), m(x, t, y=torch.full_like(y, K))


def test_w0_is_unconditional_and_w1_conditional():
    x, t, y = torch.randn(5, 3), torch.rand(5), torch.tensor([0, 1, 2, 3, 1])
    vc, vu = _parts(y, x, t)
    torch.testing.assert_close(GuidedVelocity(Affine(), y, 0.0, K)(x, t), vu)
    torch.testing.assert_close(GuidedVelocity(Affine(), y, 1.0, K)(x, t), vc)


@pytest.mark.parametrize("w", [0.5, 2.0, 4.0, -1.0])
def test_guidance_formula_in_one_forward_pass(w):
    x, t, y = torch.randn(5, 3), torch.rand(5), torch.tensor([0, 1, 2, 3, 1])
    vc, vu = _parts(y, x, t)
    m = Affine()
    out = GuidedVelocity(m, y, w, K)(x, t)
    torch.testing.assert_close(out, vu + w * (vc - vu))
    assert m.calls == 1 and m.batches == [10]  # cond and null halves together


def test_linear_in_w():
    x, t, y = torch.randn(6, 2), torch.rand(6), torch.tensor([3, 2, 1, 0, 0, 1])
    v = {w: GuidedVelocity(Affine(), y, w, K)(x, t) for w in (1.5, 2.5, 3.5)}
    torch.testing.assert_close(v[3.5] - v[2.5], v[2.5] - v[1.5])


def test_batched_equals_separate_on_a_unet():
    torch.manual_seed(0)
    m = build_model("unet", (1, 8, 8), num_classes=K, channels=8, channel_mults="1,2").eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x, t, y = torch.randn(3, 1, 8, 8), torch.rand(3), torch.tensor([0, 2, 3])
    with torch.no_grad():
        vc, vu = m(x, t, y=y), m(x, t)
        out = GuidedVelocity(m, y, 3.0, K)(x, t)
    torch.testing.assert_close(out, vu + 3.0 * (vc - vu), atol=1e-5, rtol=1e-4)


def test_drop_labels_rate_and_identity():
    y = torch.randint(0, K, (20000,), generator=torch.Generator().manual_seed(0))
    d = drop_labels(y, 0.1, K, torch.Generator().manual_seed(1))
    frac = (d == K).float().mean().item()
    assert 0.09 < frac < 0.11  # binomial sd ~0.002
    assert torch.equal(d[d != K], y[d != K])
    assert torch.equal(drop_labels(y, 0.0, K, torch.Generator()), y)


def test_check_labels():
    assert check_labels(torch.tensor([0, 3]), K).tolist() == [0, 3]
    with pytest.raises(FlowmatchError, match="class 4 is out of range"):
        check_labels(torch.tensor([0, 4]), K)
    with pytest.raises(FlowmatchError, match="without class labels"):
        check_labels(torch.tensor([0]), 0)


@pytest.mark.parametrize("w", [0.0, 1.0, 2.5])
def test_extra_conditioning_goes_to_the_model_with_both_halves(w):
    """GuidedVelocity(x, t, **cond): every other conditioning tensor reaches the network, next to
    the conditional and to the null labels."""
    seen = []

    def model(x, t, y=None, scale=None):
        seen.append((y.tolist(), scale.tolist()))
        return Affine()(x, t, y=y) * scale[:, None]

    x, t, y = torch.randn(3, 2), torch.rand(3), torch.tensor([0, 2, 1])
    scale = torch.tensor([1.0, 2.0, 3.0])
    out = GuidedVelocity(model, y, w, K)(x, t, scale=scale)
    vc, vu = (Affine()(x, t, y=labels) * scale[:, None] for labels in (y, null_labels(3, K)))
    torch.testing.assert_close(out, vu + w * (vc - vu))
    assert len(seen) == 1  # still one forward pass
    if w not in (0.0, 1.0):
        assert seen[0] == ([0, 2, 1, K, K, K], [1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    else:
        assert seen[0][1] == [1.0, 2.0, 3.0]


def test_guidance_interval_applies_w_inside_and_the_conditional_outside():
    x, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 1, 0])
    t = torch.tensor([0.0, 0.1, 0.2, 0.5, 0.8, 0.95])
    vc, vu = _parts(y, x, t)
    out = GuidedVelocity(Affine(), y, 3.0, K, interval=(0.2, 0.8))(x, t)
    inside = ((t >= 0.2) & (t <= 0.8))[:, None]
    torch.testing.assert_close(out, torch.where(inside, vu + 3.0 * (vc - vu), vc))
    m = Affine()  # no row inside: one conditional pass of B
    GuidedVelocity(m, y, 3.0, K, interval=(0.2, 0.8))(x, torch.full((6,), 0.9))
    assert m.batches == [6]
    with pytest.raises(FlowmatchError, match="guidance interval"):
        GuidedVelocity(Affine(), y, 2.0, K, interval=(0.8, 0.2))


def test_row_guided_teacher_matches_the_formula_row_by_row():
    x, y = torch.randn(6, 3), torch.tensor([0, 1, K, 3, K, 2])  # K: null rows (unconditional paths)
    w = torch.tensor([2.0, 1.5, 0.0, 1.0, 0.0, 3.0])
    for time in (0.1, 0.5):
        t = torch.full((6,), time)
        vc, vu = _parts(y, x, t)
        m = Affine()
        out = RowGuidedVelocity(m, K, interval=(0.2, 0.8))(x, t, y=y, guidance=w)
        expected = vu + w[:, None] * (vc - vu) if time == 0.5 else vc  # null rows: vc = vu
        torch.testing.assert_close(out, expected)
        assert m.batches == ([6 + 3] if time == 0.5 else [6])  # only rows guided here go twice


def test_a_model_that_takes_the_weight_is_called_once_with_it():
    net = build_model("mlp", (2,), num_classes=K, mean_flow=True, guidance_input=True, hidden=16, depth=1)
    seen = []
    hook = net.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs), with_kwargs=True)
    x, y = torch.randn(4, 2), torch.tensor([0, 1, 2, 3])
    GuidedVelocity(net, y, 2.0, K)(x, torch.zeros(4), h=torch.ones(4))
    GuidedVelocity(net, y, 0.0, K)(x, torch.zeros(4), h=torch.ones(4))
    hook.remove()
    assert torch.equal(seen[0]["guidance"], torch.full((4,), 2.0)) and torch.equal(seen[0]["y"], y)
    assert torch.equal(seen[1]["guidance"], torch.zeros(4)) and torch.equal(seen[1]["y"], torch.full((4,), K))
    with pytest.raises(FlowmatchError, match="without a guidance interval"):
        GuidedVelocity(net, y, 2.0, K, interval=(0.1, 0.8))
    with pytest.raises(FlowmatchError, match="without guidance rescale"):
        GuidedVelocity(net, y, 2.0, K, rescale=0.5)
    with pytest.raises(FlowmatchError, match="takes no guidance weight"):
        build_model("mlp", (2,), num_classes=K, hidden=16, depth=1)(x, torch.zeros(4), y=y, guidance=torch.ones(4))


def test_guidance_rescale_gives_the_guided_data_prediction_the_conditional_spread():
    # the data prediction of the OT path is d = x + (1 - t) v; phi = 1 sets std(d_guided) to
    # std(d_cond) per sample, phi in between moves the scale linearly, phi = 0 changes nothing
    x, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 3, 1, 0])
    t = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.9, 0.99])
    vc, vu = _parts(y, x, t)
    vg = vu + 3.0 * (vc - vu)
    left = (1 - t)[:, None]
    d_cond, d_guided = x + left * vc, x + left * vg
    full = GuidedVelocity(Affine(), y, 3.0, K, rescale=1.0)(x, t)
    torch.testing.assert_close((x + left * full).std(1), d_cond.std(1))
    half = rescale_guidance(x, t, vg, vc, 0.5)
    scale = 0.5 + 0.5 * d_cond.std(1) / d_guided.std(1)
    torch.testing.assert_close(x + left * half, scale[:, None] * d_guided)
    torch.testing.assert_close(GuidedVelocity(Affine(), y, 3.0, K, rescale=0.0)(x, t), vg)
    # w = 1 is the conditional velocity whatever phi; at t = 1 the guided velocity is kept (no 0 / 0)
    torch.testing.assert_close(GuidedVelocity(Affine(), y, 1.0, K, rescale=0.7)(x, t), vc)
    ones = torch.ones(6)
    vc1, vu1 = _parts(y, x, ones)
    torch.testing.assert_close(GuidedVelocity(Affine(), y, 2.0, K, rescale=0.7)(x, ones), vu1 + 2.0 * (vc1 - vu1))
    with pytest.raises(FlowmatchError, match=r"rescale is a number in \[0, 1\]"):
        GuidedVelocity(Affine(), y, 2.0, K, rescale=1.5)


def test_guidance_rescale_leaves_rows_outside_the_interval_conditional():
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 3])
    t = torch.tensor([0.05, 0.3, 0.6, 0.95])
    vc, vu = _parts(y, x, t)
    out = GuidedVelocity(Affine(), y, 2.0, K, interval=(0.2, 0.8), rescale=0.5)(x, t)
    torch.testing.assert_close(out[[0, 3]], vc[[0, 3]])
    torch.testing.assert_close(out[1:3], rescale_guidance(x, t, vu + 2.0 * (vc - vu), vc, 0.5)[1:3])
