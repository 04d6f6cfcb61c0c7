# %% [markdown]
# # The continuity equation and a flow's likelihood
#
# A velocity field v(x, t) moves probability mass the way a fluid moves: the density p_t it
# transports obeys the continuity equation d/dt p_t + div(p_t v) = 0. Following one particle
# x(t), this becomes
#
#     d/dt log p_t(x(t)) = -div v(x(t), t),
#
# so the log-density of a data point is the source's log-density at the point it came from, minus
# the divergence integrated along the way. That makes every trained flow a continuous normalising
# flow with an exact likelihood. This tutorial checks the formula on a flow whose density is known,
# compares the exact divergence with Hutchinson's estimate, and scores a trained flow.

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from flowmatch import TrainConfig, fit
from flowmatch.closed_form import gaussian_mixture_flow
from flowmatch.data import load_data
from flowmatch.likelihood import divergence_exact, divergence_hutchinson, log_likelihood, make_probes

QUICK = os.environ.get("FLOWMATCH_TUTORIAL_QUICK") == "1"  # CI: fewer points and steps, same code
OUT = Path("runs/tutorials/likelihood")
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## A flow with a known density
#
# `flowmatch.closed_form.gaussian_mixture_flow` gives the exact marginal velocity of the
# straight (`condot`) path from N(0, I) to a Gaussian mixture, and the mixture's exact
# log-density: the right answer to check against.

# %%
flow = gaussian_mixture_flow(torch.tensor([[-1.5, 0.0], [1.5, 0.5], [0.0, -1.5]]), torch.full((3, 2), 0.35), torch.tensor([0.3, 0.4, 0.3]))
x = flow.sample(200 if QUICK else 2000, torch.Generator().manual_seed(0))
truth = flow.log_density(x)

# %% [markdown]
# ## The divergence: exact, or by Hutchinson
#
# div v is the trace of the Jacobian dv/dx. Exactly, it takes one vector-Jacobian product per
# dimension. Hutchinson's estimator u^T (dv/dx) u, with random u such that E[u u^T] = I, takes one
# product per probe and is unbiased; its variance is the price.

# %%
xg = x.clone().requires_grad_(True)
out = flow.velocity(xg, torch.full((len(x),), 0.5))
exact_div = divergence_exact(out, xg)
for k in (1, 4, 16):
    u = make_probes(tuple(x.shape), k, "rademacher", torch.Generator().manual_seed(1), x.dtype, x.device)
    xs = xg.detach().repeat(k, 1).requires_grad_(True)
    est = divergence_hutchinson(flow.velocity(xs, torch.full((len(xs),), 0.5)), xs, u)
    print(f"{k:2d} probes: mean error {(est - exact_div).mean().item():+.4f}, spread {(est - exact_div).std().item():.3f}")

# %% [markdown]
# ## The log-likelihood
#
# `log_likelihood` solves the ODE back from t = 1 to t = 0 together with the divergence integral.

# %%
for exact, probes in ((True, 1), (False, 1), (False, 8)):
    start = time.perf_counter()
    res = log_likelihood(flow.velocity, x, method="rk4", steps=16 if QUICK else 32, exact=exact, probes=probes)
    name = "exact" if exact else f"Hutchinson, {probes} probe(s)"
    err = (res.log_likelihood - truth).abs().mean().item()
    print(f"{name:24s} mean log p {res.log_likelihood.mean():.4f} (true {truth.mean():.4f}), per-point error {err:.4f}, NFE {res.nfe}, {time.perf_counter() - start:.2f} s")

# %% [markdown]
# In two dimensions the exact trace costs two products, as much as two probes, and has no
# variance: flowmatch uses it up to 32 dimensions and Hutchinson above.
#
# ## A trained flow
#
# The same call scores a trained network. Here a flow on the two moons, and a picture of its
# log-density on a grid.

# %%
model = fit(TrainConfig(data="moons", coupling="ot", steps=150 if QUICK else 3000, progress=False)).model
data = load_data("moons").sample(300 if QUICK else 2000, torch.Generator().manual_seed(2)).x
res = log_likelihood(model, data, method="rk4", steps=16)
print(f"moons: NLL {res.nll:.3f} +- {res.nll_se:.3f} nats per point")

n = 30 if QUICK else 80
axis = torch.linspace(-3, 3, n)
grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
logp = log_likelihood(model, grid, method="rk4", steps=8).log_likelihood.reshape(n, n)
plt.imshow(logp.clamp(min=-8).detach().numpy(), origin="lower", extent=(-3, 3, -3, 3), cmap="viridis")
plt.colorbar(label="log p")
plt.title("log-density of the trained flow")
plt.savefig(OUT / "moons_density.png", bbox_inches="tight")
plt.close()
