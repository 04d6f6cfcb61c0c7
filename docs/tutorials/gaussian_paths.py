# %% [markdown]
# # Conditional flow matching and Gaussian paths
#
# Flow matching needs a velocity field that carries the source to the data, but that marginal
# field is unknown. Conditional flow matching sidesteps it: choose, for each data point x1, a
# simple path from the source to x1 whose velocity is known in closed form; regress the network on
# those conditional velocities; the network learns their average at each point, which is the
# marginal field. Gaussian paths are the simplest choice,
#
#     x_t = alpha_t x1 + sigma_t x0,   x0 ~ N(0, I),
#
# with target velocity alpha_t' x1 + sigma_t' x0. This tutorial puts three of them side by side:
# conditional OT (straight lines), variance preserving (diffusion's path) and variance exploding.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from flowmatch import TrainConfig, fit, make_path, solve
from flowmatch.data import load_data
from flowmatch.metrics import wasserstein2

QUICK = os.environ.get("FLOWMATCH_TUTORIAL_QUICK") == "1"  # CI: a few training steps, same code
OUT = Path("runs/tutorials/gaussian_paths")
OUT.mkdir(parents=True, exist_ok=True)
PATHS = {"condot": {}, "vp": {"beta_max": 10.0}, "ve": {"sigma_max": 5.0}}

# %% [markdown]
# ## The schedules
#
# Each path is a pair (alpha_t, sigma_t) from the source at t = 0 (alpha near 0) to the data at t = 1
# (alpha = 1, sigma near 0). VE keeps alpha = 1 and starts from a wide Gaussian, N(0, sigma_max^2 I).

# %%
t = torch.linspace(0, 1, 6)
for name, params in PATHS.items():
    v = make_path(name, **params).schedule(t)
    print(f"{name:7s} alpha_t: {' '.join(f'{a:.2f}' for a in v.alpha)}   sigma_t: {' '.join(f'{s:.2f}' for s in v.sigma)}")

# %% [markdown]
# ## Conditional paths
#
# For one data point x1 and several source draws x0, the conditional paths of each schedule: straight
# lines for conditional OT, curves for VP and VE.

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
x1 = torch.tensor([[1.0, 0.5]]).repeat(8, 1)
ts = torch.linspace(0, 1, 50)
for ax, (name, params) in zip(axes, PATHS.items()):
    path = make_path(name, **params)
    x0 = torch.randn(8, 2, generator=torch.Generator().manual_seed(0)) * path.source_scale
    xs = torch.stack([path.sample(x0, x1, tt.repeat(8)).x_t for tt in ts])
    ax.plot(xs[:, :, 0], xs[:, :, 1], lw=1)
    ax.scatter(*x1[0], c="k", zorder=3)
    ax.set_title(f"{name}: conditional paths to one x1")
fig.savefig(OUT / "conditional_paths.png", bbox_inches="tight")
plt.close(fig)

# %% [markdown]
# ## The check that makes it work
#
# The target alpha_t' x1 + sigma_t' x0 is the conditional velocity
# u_t(x | x1) = (sigma_t' / sigma_t)(x - alpha_t x1) + alpha_t' x1 evaluated at x = x_t:

# %%
for name, params in PATHS.items():
    path = make_path(name, **params)
    x0, x1 = torch.randn(64, 2), torch.randn(64, 2)
    tt = torch.rand(64) * 0.98 + 0.01
    ps = path.sample(x0, x1, tt)
    print(name, torch.allclose(ps.velocity, path.conditional_velocity(ps.x_t, x1, tt), atol=1e-4))

# %% [markdown]
# ## Marginal flows
#
# Training on the conditional targets gives the marginal field. One flow per path on the same data,
# sampled with the same solver: the straight path needs the fewest steps.

# %%
ref = load_data("8gaussians").sample(1000, torch.Generator().manual_seed(1)).x
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, (name, params) in zip(axes, PATHS.items()):
    cfg = TrainConfig(data="8gaussians", path=name, steps=150 if QUICK else 3000, progress=False, **params)
    model = fit(cfg).model
    path = make_path(name, **params)
    x0 = torch.randn(1000, 2, generator=torch.Generator().manual_seed(2)) * path.source_scale
    scores = {steps: wasserstein2(solve(model, x0, method="midpoint", steps=steps).x, ref) for steps in (2, 8)}
    print(f"{name:7s} W2 at NFE 4: {scores[2]:.3f}, at NFE 16: {scores[8]:.3f}")
    traj = solve(model, x0[:200], method="midpoint", steps=16, trajectory=True).trajectory
    ax.plot(traj[:, :, 0], traj[:, :, 1], lw=0.5, alpha=0.5)
    ax.set_title(f"{name}: the learned marginal flow")
fig.savefig(OUT / "marginal_flows.png", bbox_inches="tight")
plt.close(fig)

# %% [markdown]
# The conditional paths of `condot` are straight, but the marginal flow still bends where the lines
# of different pairs cross: the learned velocity is their average. Pairing the points so that
# their lines do not cross straightens it further: that is what [couplings](couplings.md) do.
