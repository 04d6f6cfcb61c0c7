# %% [markdown]
# # Classifier-free guidance through a diffusers-style scheduler
#
# A class-conditional flow learns v(x, t | c). Trained with its label dropped to a null class now
# and then, the same network also holds the unconditional field v(x, t | null), and at sampling
# the two can be extrapolated:
#
#     v_w = v(x, t | null) + w (v(x, t | c) - v(x, t | null)).
#
# w = 1 is the plain conditional flow; w > 1 trades diversity for fidelity to the class. This
# tutorial trains a class-conditional flow on handwritten digits and samples it through
# `FlowMatchEulerScheduler`, the `set_timesteps` / `step` loop that diffusers users know, with
# the guided velocity inside the loop. The digits are scikit-learn's 8x8 set (no download);
# `FLOWMATCH_TUTORIAL_DATA=mnist` uses real MNIST instead (fetched into `data/`).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from flowmatch import TrainConfig, fit
from flowmatch.data import load_data
from flowmatch.guidance import GuidedVelocity
from flowmatch.schedulers import FlowMatchEulerScheduler

QUICK = os.environ.get("FLOWMATCH_TUTORIAL_QUICK") == "1"  # CI: a few training steps, same code
OUT = Path("runs/tutorials/classifier_free_guidance")
OUT.mkdir(parents=True, exist_ok=True)
MNIST = os.environ.get("FLOWMATCH_TUTORIAL_DATA") == "mnist"
DATA = "mnist" if MNIST else "digits"

# %% [markdown]
# ## Training with label dropout
#
# `cond_drop=0.2` replaces a fifth of the labels with the null class, so the network learns both
# fields. A small U-Net with a patch-2 stem keeps a CPU step cheap.

# %%
config = TrainConfig(
    data=DATA, download=MNIST, model="unet", channels=32, channel_mults="1,2", patch_size=2 if MNIST else 1, num_res_blocks=1,
    attn_resolutions="none", batch_size=64, lr=2e-3, ema_decay=0.995, cond_drop=0.2, steps=40 if QUICK else 2500, progress=False,
)  # fmt: skip
model = fit(config).model.eval()
num_classes = 10

# %% [markdown]
# ## A yardstick
#
# A logistic regression on the training images says which digit a sample looks like: the share
# classified as the requested digit measures fidelity.

# %%
train = load_data(DATA, download=MNIST).sample(3000, torch.Generator().manual_seed(0))
judge = LogisticRegression(max_iter=300).fit(train.x.flatten(1).numpy(), train.y.numpy())

# %% [markdown]
# ## The scheduler loop, guided
#
# `FlowMatchEulerScheduler` keeps flowmatch's convention (t = 0 noise, t = 1 data, the model
# returns the velocity); `step` is one Euler step x + (t_next - t) v. `GuidedVelocity` puts the
# conditional and the null halves through the network in one batched pass.

# %%
scheduler = FlowMatchEulerScheduler()
scheduler.set_timesteps(4 if QUICK else 20)
labels = torch.arange(num_classes).repeat_interleave(10)
noise = torch.randn(len(labels), *train.x.shape[1:], generator=torch.Generator().manual_seed(1))
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, w in zip(axes, (0.0, 1.0, 3.0)):
    guided = GuidedVelocity(model, labels, guidance=w, num_classes=num_classes)
    x = noise.clone()
    with torch.no_grad():
        for t in scheduler.timesteps:
            x = scheduler.step(guided(x, t.expand(len(x))), t, x).prev_sample
    x = x.clamp(-1, 1)
    accuracy = np.mean(judge.predict(x.flatten(1).numpy()) == labels.numpy())
    print(f"w = {w}: {accuracy:.0%} classified as the requested digit, pixel spread {x.std():.3f}")
    tiles = x.reshape(num_classes, 10, *x.shape[2:]).permute(0, 2, 1, 3).reshape(num_classes * x.shape[2], 10 * x.shape[3])
    ax.imshow(tiles.numpy(), cmap="gray", vmin=-1, vmax=1)
    ax.set_title(f"w = {w} (rows: digits 0-9)")
    ax.axis("off")
fig.savefig(OUT / "guided_grids.png", bbox_inches="tight")
plt.close(fig)

# %% [markdown]
# w = 0 ignores the label (about 10% by chance); w = 1 follows it; a larger w follows it more
# strictly at some cost in diversity. On the command line the same is
# `flowmatch sample RUN --class all --guidance 3`, and `--guidance-interval` and
# `--guidance-rescale` refine it ([Guidance](../guide/guidance.md)). diffusers' own
# `FlowMatchEulerDiscreteScheduler` counts time the other way (sigma = 1 - t) and expects
# -v; `FlowMatchEulerScheduler(spacing="diffusers")` reproduces its grid
# ([diffusers interop](../guide/diffusers.md)).
