"""MeanFlow: the identity behind its target, checked on a flow whose average velocity is known in
closed form; one exact step transports exactly; a short training run samples in one step."""

import math

import pytest
import torch

from flowmatch import TrainConfig, fit
from flowmatch.data import load_data
from flowmatch.errors import FlowmatchError
from flowmatch.loss import mean_flow_loss, mean_flow_target, sample_interval
from flowmatch.metrics import wasserstein2
from flowmatch.paths import make_path
from flowmatch.solvers import solve

M, S = torch.tensor([2.0, -1.0], dtype=torch.float64), 0.5  # data N(M, S^2 I), source N(0, I)


def sigma(t):
    """Std of the condot marginal between N(0, I) and N(M, S^2 I): sqrt((1 - t)^2 + t^2 S^2)."""
    return torch.sqrt((1 - t) ** 2 + (t * S) ** 2)


def flow_map(x0, t):
    """phi_t(x0) = t M + sigma_t x0: the marginal ODE flow of the condot path (an affine map)."""
    return t[:, None] * M + sigma(t)[:, None] * x0


def velocity(x, t):
    """v(x, t) = M + (sigma_t' / sigma_t)(x - t M)."""
    tt = t[:, None]
    dsigma = (-(1 - tt) + tt * S**2) / sigma(tt)
    return M + dsigma / sigma(tt) * (x - tt * M)


def average_velocity(x, t, h):
    """u(x, t, h) = (phi_{t+h}(phi_t^{-1}(x)) - x) / h (the velocity at t where h = 0)."""
    x0 = (x - t[:, None] * M) / sigma(t)[:, None]
    safe = torch.where(h > 0, h, torch.ones_like(h))
    u = (flow_map(x0, t + h) - x) / safe[:, None]
    return torch.where((h > 0)[:, None], u, velocity(x, t))


def test_target_identity_holds_for_the_exact_average_velocity():
    g = torch.Generator().manual_seed(0)
    n = 256
    t = torch.rand(n, generator=g, dtype=torch.float64) * 0.8
    h = torch.rand(n, generator=g, dtype=torch.float64) * (1 - t)
    x = flow_map(torch.randn(n, 2, generator=g, dtype=torch.float64), t)
    model = lambda xx, tt, h: average_velocity(xx, tt, h)  # noqa: E731
    target = mean_flow_target(model, x, t, h, velocity(x, t))
    assert torch.allclose(target, average_velocity(x, t, h), atol=1e-9)
    # a wrong sign anywhere in the tangent would show: -v for x, or +1 for h
    wrong = mean_flow_target(model, x, t, h, -velocity(x, t))
    assert (wrong - average_velocity(x, t, h)).abs().max() > 0.1


def test_one_meanflow_step_with_the_exact_average_velocity_is_exact():
    x0 = torch.randn(500, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    res = solve(lambda x, t, h: average_velocity(x, t, h), x0, method="meanflow", steps=1)
    assert res.nfe == 1
    assert torch.allclose(res.x, M + S * x0, atol=1e-9)
    two = solve(lambda x, t, h: average_velocity(x, t, h), x0, method="meanflow", steps=2)
    assert torch.allclose(two.x, res.x, atol=1e-9)


def test_loss_of_the_exact_model_on_straight_deterministic_pairs_is_zero():
    # x1 = A x0 + b with A = 2 I: the straight paths do not cross, so the conditional velocity is
    # the marginal one and the average velocity over any interval is x1 - x0 along the path.
    g = torch.Generator().manual_seed(2)
    x0 = torch.randn(128, 2, generator=g, dtype=torch.float64)
    b = torch.tensor([1.0, 0.5], dtype=torch.float64)
    x1 = 2 * x0 + b
    t, h = sample_interval(torch.rand(128, generator=g, dtype=torch.float64), "uniform", 1.0, g)

    def exact(x, tt, h):  # x0 from x_t = (1 + tt) x0 + tt b, then u = x0 + b
        x0_of_x = (x - tt[:, None] * b) / (1 + tt[:, None])
        return x0_of_x + b

    loss = mean_flow_loss(exact, make_path("condot"), x0, x1, t.double(), h.double())
    assert float(loss) < 1e-20
    assert bool((h > 0).all()) and bool((t + h <= 1 + 1e-12).all())


def test_meanflow_run_samples_in_one_step():
    # independent pairs: the paths cross, so one Euler step of the instantaneous velocity is poor
    cfg = TrainConfig(data="moons", out="unused", objective="meanflow", steps=1500, batch_size=128, hidden=64, mean_flow_fraction=0.5, progress=False, device="cpu")
    model = fit(cfg, callbacks=[]).model.eval()
    g = torch.Generator().manual_seed(3)
    ref = load_data("moons").sample(1000, g).x
    x0 = torch.randn(1000, 2, generator=g)
    with torch.no_grad():
        one = wasserstein2(solve(model, x0, method="meanflow", steps=1).x, ref)
        euler = wasserstein2(solve(model, x0, method="euler", steps=1).x, ref)  # the same model as a plain velocity
    assert one < 0.6 and one < 0.5 * euler, (one, euler)
    assert math.isfinite(one)


def test_meanflow_step_refuses_a_plain_velocity_model():
    cfg = TrainConfig(data="moons", out="unused", steps=2, hidden=8, progress=False, device="cpu")
    model = fit(cfg, callbacks=[]).model
    with pytest.raises(FlowmatchError, match="average velocities"):
        solve(model, torch.randn(4, 2), method="meanflow", steps=1)


def test_meanflow_target_on_a_unet_under_bf16_autocast_matches_fp32():
    # forward-mode AD through a bf16 U-Net failed in torch's autocast (a bf16 dual's tangent kept
    # fp32 after group_norm); the model's GroupNorm32 casts by ordinary ops, so the JVP runs
    from flowmatch.models import build_model

    torch.manual_seed(0)
    model = build_model("unet", (1, 8, 8), num_classes=3, channels=8, channel_mults="1,2", mean_flow=True)
    for p in model.parameters():  # non-trivial weights: the zero-initialised output layer makes every JVP 0
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.1)
    g = torch.Generator().manual_seed(4)
    x, v = torch.randn(6, 1, 8, 8, generator=g), torch.randn(6, 1, 8, 8, generator=g)
    t, h, y = torch.rand(6, generator=g) * 0.5, torch.rand(6, generator=g) * 0.5, torch.randint(3, (6,), generator=g)
    ref = mean_flow_target(model, x, t, h, v, y=y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = mean_flow_target(model, x, t, h, v, y=y)
    err = ((low.float() - ref).norm() / (ref - v).norm()).item()  # relative error of h du/dt
    assert err < 0.05, err
    assert (ref - v).abs().max() > 1e-3  # the derivative term is not trivially zero


def test_bf16_meanflow_image_run_trains():
    from flowmatch.data.images import ImageData

    g = torch.Generator().manual_seed(5)
    data = ImageData(torch.randint(256, (64, 1, 8, 8), generator=g, dtype=torch.uint8), torch.randint(2, (64,), generator=g), 2)
    cfg = TrainConfig(data="unused", out="unused", model="unet", channels=8, channel_mults="1,2", objective="meanflow", precision="bf16", mean_flow_fraction=0.5, steps=3, batch_size=8, progress=False)
    res = fit(cfg, data, callbacks=[])
    assert res.step == 3 and math.isfinite(res.loss)
