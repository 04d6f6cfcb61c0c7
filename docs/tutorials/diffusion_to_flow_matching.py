# %% [markdown]
# # From diffusion to flow matching
#
# A diffusion model corrupts data with noise step by step and learns to undo the corruption. Flow
# matching keeps the useful half of that idea, a path of distributions from noise to data, and
# drops the rest: instead of a stochastic reverse process it learns one velocity field v(x, t)
# whose ordinary differential equation carries noise (t = 0) to data (t = 1). This tutorial
# builds both views on handwritten digits, trains a small CNN as the velocity, and samples it
# with Euler steps.
#
# The digits are scikit-learn's 8x8 set, which needs no download. To use real MNIST instead, set
# `FLOWMATCH_TUTORIAL_DATA=mnist` (the files are fetched into `data/` and their checksums
# verified; see the cell below).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from flowmatch import make_path, solve
from flowmatch.data import load_data
from flowmatch.loss import flow_matching_loss
from flowmatch.metrics import sliced_wasserstein2
from flowmatch.models import build_model

QUICK = os.environ.get("FLOWMATCH_TUTORIAL_QUICK") == "1"  # CI: a few steps, same code
OUT = Path("runs/tutorials/diffusion_to_flow_matching")
OUT.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)

# %% [markdown]
# ## The data
#
# `load_data` returns a source of batches: `sample(n, generator)` gives `Batch(x, y, c)`, with
# images scaled to [-1, 1] and class labels `y`.

# %%
if os.environ.get("FLOWMATCH_TUTORIAL_DATA") == "mnist":
    train_set = load_data("mnist", data_dir="data", download=True)  # the IDX files, MD5-checked
    test_set = load_data("mnist", data_dir="data", split="test")
else:
    train_set, test_set = load_data("digits"), load_data("digits", split="test")
g = torch.Generator().manual_seed(0)
x1 = train_set.sample(16, g).x
print("one batch:", tuple(x1.shape), "pixels in", (x1.min().item(), x1.max().item()))


def grid(images: torch.Tensor, path: Path, title: str) -> None:
    fig, axes = plt.subplots(1, len(images), figsize=(len(images), 1.3))
    for ax, img in zip(axes, images):
        ax.imshow(img[0].clamp(-1, 1).numpy(), cmap="gray", vmin=-1, vmax=1)
        ax.axis("off")
    fig.suptitle(title)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


# %% [markdown]
# ## Diffusion's forward process, in flow time
#
# A variance-preserving diffusion noises a data point x1 as alpha x1 + sigma eps with
# alpha^2 + sigma^2 = 1. Written in flow time (t = 0 noise, t = 1 data) that is the `vp` path
# x_t = alpha_t x1 + sigma_t x0 with x0 ~ N(0, I). Reading the pictures from right to left is
# the forward (noising) process; from left to right, what a sampler must do.

# %%
vp = make_path("vp")
x0 = torch.randn_like(x1)
times = torch.tensor([0.0, 0.25, 0.5, 0.75, 0.9, 1.0])
noised = torch.stack([vp.sample(x0[:1], x1[:1], t.reshape(1)).x_t[0] for t in times])
grid(noised, OUT / "vp_path.png", "vp path of one digit, t = " + ", ".join(f"{t:.2f}" for t in times))
for t in times:
    v = vp.schedule(t.reshape(1))
    print(f"t = {t:.2f}: alpha_t = {v.alpha.item():.3f}, sigma_t = {v.sigma.item():.3f}")

# %% [markdown]
# ## A learned velocity instead of a learned denoiser
#
# Flow matching picks a path (here the straight `condot` path, x_t = t x1 + (1 - t) x0) and
# regresses a network on the path's velocity for each pair, x1 - x0. The network then learns
# the average of those velocities at each point: the marginal field, whose ODE carries the noise
# distribution to the data distribution. The loop below is the whole algorithm: draw data and
# noise, draw times, regress.

# %%
path = make_path("condot")
model = build_model("simple-cnn", tuple(x1.shape[1:]), channels=32, depth=4)
opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
steps = 60 if QUICK else 4000
for step in range(steps):
    x1 = train_set.sample(64, g).x
    x0 = torch.randn(x1.shape, generator=g)
    t = torch.rand(len(x1), generator=g)
    loss = flow_matching_loss(model, path, x0, x1, t)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % max(steps // 5, 1) == 0:
        print(f"step {step:5d}  loss {loss.item():.4f}")

# %% [markdown]
# ## Sampling with Euler steps
#
# Sampling solves dx/dt = v(x, t) from noise. One Euler step jumps straight along the velocity
# at t = 0, which points at the mean of the data: a blur. More steps follow the curved
# trajectories. The sliced Wasserstein distance of the pixels to test digits measures it.

# %%
model.eval()
test = test_set.sample(256, torch.Generator().manual_seed(1)).x
noise = torch.randn(256, *test.shape[1:], generator=torch.Generator().manual_seed(2))
with torch.no_grad():
    for steps in (1, 4, 20):
        res = solve(model, noise, method="euler", steps=steps)
        swd = sliced_wasserstein2(res.x.flatten(1), test.flatten(1))
        print(f"Euler, {steps:2d} steps (NFE {res.nfe:2d}): sliced W2 to test digits {swd:.3f}")
        grid(res.x[:12], OUT / f"euler_{steps}.png", f"Euler, {steps} steps")

# %% [markdown]
# What changed from diffusion: no noise schedule to tune at sampling, no stochastic sampler, one
# regression target per pair, and any ODE solver. The same loop with class labels gives a
# class-conditional model ([classifier-free guidance](classifier_free_guidance.md)); with
# straighter paths one step can be enough ([few-step generation](few_step.md)).
