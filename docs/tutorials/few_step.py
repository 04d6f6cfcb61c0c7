# %% [markdown]
# # Few-step generation: reflow, distillation, MeanFlow
#
# A flow trained on independent pairs follows curved trajectories: one Euler step lands on the
# mean of the data, and good samples need many network evaluations. Three ideas make one or two
# steps enough:
#
# - **reflow** trains a new flow on the pairs (x0, ODE(x0)) that the first one makes: those pairs
#   do not cross, so the new flow's trajectories are nearly straight;
# - **distillation** then trains at t = 0, so that x0 + v(x0, 0) lands on the ODE's end point;
# - **MeanFlow** trains one network u(x, t, h) on average velocities over intervals [t, t + h],
#   so that x + h u(x, t, h) jumps along the trajectory, from scratch, in one run.
#
# This tutorial runs each on the two moons and compares them at 1, 2 and 8 steps.

# %%
import os
import shutil
from pathlib import Path

import torch

from flowmatch import TrainConfig, load_run, sample_run, train
from flowmatch.data import load_data
from flowmatch.metrics import wasserstein2
from flowmatch.recipes import reflow, straightness

QUICK = os.environ.get("FLOWMATCH_TUTORIAL_QUICK") == "1"  # CI: a few steps and pairs, same code
OUT = Path("runs/tutorials/few_step")
shutil.rmtree(OUT, ignore_errors=True)  # the runs of an earlier pass of this tutorial
OUT.mkdir(parents=True)
STEPS = 150 if QUICK else 4000
PAIRS = 512 if QUICK else 8192
ref = load_data("moons").sample(2000, torch.Generator().manual_seed(1)).x
floor = wasserstein2(load_data("moons").sample(2000, torch.Generator().manual_seed(2)).x, ref)
print(f"noise floor (two fresh draws of the data): W2 {floor:.3f}")


def report(name: str, run_dir: Path, method: str = "euler") -> None:
    run = load_run(run_dir)
    w2 = {k: wasserstein2(sample_run(run, 2000, method=method, steps=k, seed=3).x, ref) for k in (1, 2, 8)}
    print(f"{name:28s} W2 at 1, 2, 8 steps: {w2[1]:.3f}, {w2[2]:.3f}, {w2[8]:.3f}")


# %% [markdown]
# ## The base flow
#
# Independent pairs, so that the effect of each stage is plain to see.

# %%
train(TrainConfig(data="moons", steps=STEPS, out=str(OUT / "base"), progress=False))
report("base (independent pairs)", OUT / "base")

# %% [markdown]
# ## Reflow
#
# `reflow` draws source points, solves the base flow's ODE accurately (RK4) to get their end
# points, and trains a new run on these fixed pairs from the base's weights. It reports the
# straightness S = E integral |v(x_t, t) - (x1 - x0)|^2 dt before and after: 0 means straight lines
# at constant speed, on which one Euler step is exact.

# %%
rf = reflow(OUT / "base", OUT / "reflow", pairs=PAIRS, steps=STEPS // 2)
print(f"straightness: base {rf.straightness_before:.4f}, reflowed {rf.straightness_after:.4f}")
report("reflow (2-rectified flow)", OUT / "reflow")

# %% [markdown]
# ## Distillation
#
# The same pairs again, with half of each batch at t = 0: x0 + v(x0, 0) learns to land on the end
# point, and the other half keeps the two-step sampler good.

# %%
reflow(OUT / "reflow", OUT / "distill", pairs=PAIRS, steps=STEPS // 2, distill_fraction=0.5)
report("reflow + distillation", OUT / "distill")

# %% [markdown]
# ## MeanFlow
#
# One run, no teacher: the network also takes the interval h and learns the average velocity over
# [t, t + h] from the identity u = v + h du/dt (one Jacobian-vector product per batch). It samples
# with its own jump x + h u(x, t, h) (`method="meanflow"`). With OT pairs the trajectories it
# learns are already nearly straight.

# %%
train(TrainConfig(data="moons", objective="meanflow", coupling="ot", steps=STEPS, out=str(OUT / "meanflow"), progress=False))
report("MeanFlow (OT pairs)", OUT / "meanflow", method="meanflow")
with torch.no_grad():
    base_model = load_run(OUT / "base").model
    print(f"straightness of the base again, for scale: {straightness(base_model, torch.randn(500, 2)):.4f}")

# %% [markdown]
# On the command line the whole chain is one command, `flowmatch train --data moons --recipe
# few-step` (an OT base, then distillation), and the packaged `pretrained:moons` is its one-step
# model. On MNIST the chain distils the teacher's whole paths into a flow map
# ([Few-step generation](../guide/few-step.md), [benchmarks](../benchmarks/index.md#few-step-generation-against-other-libraries)).
