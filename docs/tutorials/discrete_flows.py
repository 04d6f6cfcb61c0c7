# %% [markdown]
# # Discrete flow matching: flows on tokens
#
# Text, DNA or a quantised image are sequences of tokens x = (x^1, ..., x^L) with x^i in
# {0, ..., V-1}; there is no straight line between two sentences for a velocity to follow.
# Discrete flow matching keeps the recipe of the continuous case and changes its three pieces:
#
# - the **path** mixes a source and the data token by token: each token of x_t is already the
#   data token with probability kappa_t, and still the source token (a mask, or a uniform draw)
#   otherwise;
# - the network predicts, instead of a velocity, the **posterior** p(x1^i | x_t) of each data
#   token given the noisy sequence, trained by cross-entropy;
# - **sampling** runs a continuous-time Markov chain whose jump rates follow from that posterior.
#
# The playground is the discrete checkerboard: two tokens of vocabulary 128, uniform on the filled
# cells of a 4 x 4 checkerboard, whose exact law is known. That lets this tutorial check each piece
# against a closed form: the path's marginals, the sampler's error at a given number of steps, and
# the likelihood bound of the mask path, which with the exact posterior equals the data's entropy.
# It ends with classifier-free guidance on the quadrant labels.

# %%
import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import LogNorm

from flowmatch.data import DiscreteCheckerboard
from flowmatch.discrete import CosineKappa, MixturePath, PolynomialKappa, Posterior, discrete_loss, draw_training, mask_elbo, posterior, sample_discrete
from flowmatch.evaluation import histogram_tv
from flowmatch.guidance import drop_labels
from flowmatch.models import build_model

QUICK = os.environ.get("FLOWMATCH_TUTORIAL_QUICK") == "1"  # CI: fewer training steps and samples, same code
OUT = Path("runs/tutorials/discrete_flows")
OUT.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
STEPS = 60 if QUICK else 2000  # training steps of each network
N = 2000 if QUICK else 20_000  # samples per histogram

data = DiscreteCheckerboard()
V = data.vocab_size  # 128
p_exact = data.probabilities()  # (128, 128): 1/8192 on each filled grid point
entropy = -(p_exact[p_exact > 0] * p_exact[p_exact > 0].log()).sum().item()
print(f"the exact law: {int((p_exact > 0).sum())} equally likely points, entropy {entropy:.4f} nats = {entropy / 2:.4f} nats per token")

# %% [markdown]
# ## 1. The mixture path
#
# Given a data pair x1, every token of x_t is drawn on its own:
#
#     p_t(x^i | x1) = kappa_t delta(x^i, x1^i) + (1 - kappa_t) p0(x^i),
#
# with p0 uniform over the 128 tokens, or a point mass on an extra **mask** token (index 128; the
# network then reads 129 tokens and predicts 128). The schedule kappa_t rises from 0 at t = 0 to 1
# at t = 1. Below, x_t for kappa_t = t on both sources: the uniform source dissolves the
# checkerboard into a flat background; the mask source hides tokens. On a log colour scale, a
# pair with its first token masked is drawn in the strip on the right, one with its second token
# masked in the strip at the top, one with both masked in the corner; the strips empty as t
# grows.

# %%
x1 = data.sample(N, torch.Generator().manual_seed(1)).x
linear = PolynomialKappa(1.0)
times = (0.25, 0.5, 0.75, 1.0)
fig, axes = plt.subplots(2, len(times), figsize=(3.2 * len(times), 6.8))
for row, source in enumerate(("uniform", "mask")):
    path = MixturePath(linear, vocab_size=V, source=source)
    size = path.input_vocab  # 128, or 129 with the mask
    widths = torch.tensor([1] * V + [12] * (size - V))  # the mask token drawn as a strip 12 tokens wide
    for ax, t in zip(axes[row], times):
        x_t = path.sample(x1, torch.full((N,), t), torch.Generator().manual_seed(2))
        hist = torch.bincount(x_t[:, 0] * size + x_t[:, 1], minlength=size * size).reshape(size, size).double()
        image = hist.repeat_interleave(widths, 0).repeat_interleave(widths, 1).T
        ax.imshow(image.numpy(), origin="lower", cmap="magma", interpolation="nearest", norm=LogNorm(vmin=1) if source == "mask" else None)
        ax.set_title(f"{source}, t = {t}")
        ax.set_facecolor("black")  # empty cells (log scale: log 0 is drawn as the background)
        ax.set_xticks([])
        ax.set_yticks([])
fig.tight_layout()
fig.savefig(OUT / "path.png", dpi=90, bbox_inches="tight")
plt.close(fig)

# %% [markdown]
# The path's marginal is known in closed form, token by token: on the mask path the fraction of tokens that
# show their data value is kappa_t, and on the uniform path it is kappa_t + (1 - kappa_t) / V (a
# uniform draw hits the data token by chance one time in V). Measured on the draws, for three
# schedules:

# %%
for formula, schedule in (("t", PolynomialKappa(1.0)), ("t^2", PolynomialKappa(2.0)), ("1 - cos(pi t / 2)", CosineKappa())):
    for source in ("mask", "uniform"):
        path = MixturePath(schedule, vocab_size=V, source=source)
        cells = []
        for t in (0.25, 0.5, 0.75):
            kappa = schedule.kappa(torch.tensor(t)).item()
            expected = kappa if source == "mask" else kappa + (1 - kappa) / V
            shown = (path.sample(x1, torch.full((N,), t), torch.Generator().manual_seed(3)) == x1).double().mean().item()
            cells.append(f"t={t}: {shown:.4f} (closed form {expected:.4f})")
        print(f"kappa_t = {formula:17s} {source:8s}", "  ".join(cells))
print(f"(standard error of each fraction: about {math.sqrt(0.25 / (2 * N)):.4f})")

# %% [markdown]
# ## 2. The posterior and the loss
#
# On the mask path the network reads x_t and t and returns logits of p(x1^i | x_t) for every
# position. Tokens that are already visible need no prediction: their posterior is a point mass
# on what they show. For a masked token, the loss is its cross-entropy -log p(x1^i | x_t), and
# weighted by w_t = kappa'_t / (1 - kappa_t) and integrated over t it becomes an upper bound on
# -log p(x1) (section 4). `draw_training` draws x_t and the weights; it samples the number of
# masked tokens rather than t, which gives the same expectation without the large weights near
# t = 1. `discrete_loss` is then that bound's estimate on the batch, in nats per token.
#
# The network is `token-mlp`: each token embedded in 128 dimensions, the embeddings and a time
# embedding through three hidden layers, 2 x 128 logits out.

# %%
path = MixturePath(linear, vocab_size=V, source="mask")


def train(num_classes: int = 0, label_drop: float = 0.0, seed: int = 0) -> tuple[torch.nn.Module, list[float]]:
    """A token-mlp posterior trained on the checkerboard by the mask path's bound; its loss curve."""
    torch.manual_seed(seed)
    model = build_model("token-mlp", (2,), num_classes, vocab=V, input_vocab=path.input_vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(STEPS):
        batch = data.sample(512, g)
        draw = draw_training(path, batch.x, "kl", g)
        cond = {"y": drop_labels(batch.y, label_drop, num_classes, g)} if num_classes else {}
        loss = discrete_loss(path, model(draw.x_t, draw.t, **cond), batch.x, draw, "kl")
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return model.eval(), losses


model, losses = train()
window = max(1, STEPS // 20)
smooth = torch.tensor(losses).unfold(0, window, 1).mean(1)
print(f"loss over the last {window} steps: {smooth[-1]:.4f} nats per token (entropy {entropy / 2:.4f})")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot((torch.arange(len(smooth)) + window).numpy(), smooth.numpy(), label=f"loss (mean of {window} steps)")
ax.axhline(entropy / 2, color="k", ls="--", lw=1, label="entropy of the data, per token")
ax.set_xlabel("training step")
ax.set_ylabel("nats per token")
ax.set_ylim(entropy / 2 - 0.05, entropy / 2 + 0.5)
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "loss.png", dpi=90, bbox_inches="tight")
plt.close(fig)

# %% [markdown]
# The loss falls toward the entropy of the data, 4.5055 nats per token, and cannot go below it in
# expectation: it is an upper bound on -log p(x1) per token.
#
# ## 3. Sampling the chain
#
# Sampling starts from an all-mask sequence at t = 0. Between t and s, a masked token is revealed
# with probability (kappa_s - kappa_t) / (1 - kappa_t), and its value is drawn from the posterior
# q = p(. | x_t) the network gives at t (`sample_discrete`, one network evaluation per step, so
# NFE = steps). A single token would be sampled exactly at any step count. The error comes from
# tokens revealed in the same step: they are drawn from their posteriors independently, blind to
# each other. For two tokens and N equal steps in kappa, both are revealed in the same step with
# probability 1/N, and then they are independent draws from the two marginals, uniform on the
# 128 x 128 grid, half of which is empty. So even with the exact posterior the samples' law is
# (1 - 1/N) p + (1/N) uniform, at total variation **0.5 / N** from p.
#
# To see this apart from the network's own error, the exact posterior of the checkerboard is
# easy to write down: on the mask path it does not depend on t, only on which token is visible.
# A masked token's posterior is the conditional law given the other token when that one is
# visible, and its marginal otherwise.

# %%
log_joint = p_exact.log()  # -inf off the support
log_first_given_second = (log_joint - p_exact.sum(0).log()[None, :]).T  # [b, a]: log p(x^1 = a | x^2 = b)
log_second_given_first = log_joint - p_exact.sum(1).log()[:, None]  # [a, b]: log p(x^2 = b | x^1 = a)
log_marginals = torch.stack([p_exact.sum(1).log(), p_exact.sum(0).log()])  # (2, 128)


def exact_posterior(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """log p(x1^i | x_t): (B, 2, 128) of the exact law, for x: (B, 2) on the mask path (any t)."""
    shown = x != path.mask_token
    first = torch.where(shown[:, 1:], log_first_given_second[x[:, 1].clamp(max=V - 1)], log_marginals[0])
    second = torch.where(shown[:, :1], log_second_given_first[x[:, 0].clamp(max=V - 1)], log_marginals[1])
    return torch.stack([first, second], dim=1).float()


floor = histogram_tv(data.sample(N, torch.Generator().manual_seed(4)).x, p_exact)
print(f"Monte-Carlo floor: {N} exact draws are at TV {floor:.4f} from the law")
nfes = (1, 2, 4, 8, 16, 64)
tv = {"exact posterior": [], "trained network": []}
off = {"exact posterior": [], "trained network": []}  # the share of samples on empty cells
pictures = {}
with torch.no_grad():
    for name, post in (("exact posterior", exact_posterior), ("trained network", Posterior(model))):
        for steps in nfes:
            x = sample_discrete(post, path, path.sample_source((N, 2)), steps=steps, generator=torch.Generator().manual_seed(5)).x
            tv[name].append(histogram_tv(x, p_exact))
            off[name].append((p_exact[x[:, 0], x[:, 1]] == 0).double().mean().item())
            if name == "trained network" and steps in (2, 8, 64):
                pictures[steps] = x
        print(f"{name:16s} TV at NFE {', '.join(map(str, nfes))}: {', '.join(f'{v:.4f}' for v in tv[name])}")
        print(f"{'':16s} on empty cells:        {', '.join(f'{v:.4f}' for v in off[name])}")
print(f"{'0.5 / N':16s}                        {', '.join(f'{0.5 / n:.4f}' for n in nfes)}")

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
axes[0].imshow(p_exact.T.numpy(), origin="lower", cmap="magma", interpolation="nearest")
axes[0].set_title("exact law")
for ax, (steps, x) in zip(axes[1:], sorted(pictures.items())):
    hist = torch.bincount(x[:, 0] * V + x[:, 1], minlength=V * V).reshape(V, V)
    ax.imshow(hist.T.numpy(), origin="lower", cmap="magma", interpolation="nearest")
    ax.set_title(f"network, NFE {steps}: TV {tv['trained network'][nfes.index(steps)]:.3f}")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
fig.savefig(OUT / "samples.png", dpi=90, bbox_inches="tight")
plt.close(fig)

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
grid = torch.logspace(0, math.log10(nfes[-1]), 50)
for ax, values, label in ((axes[0], tv, "total variation to the exact law"), (axes[1], off, "share of samples on empty cells")):
    for name, ys in values.items():
        ax.plot(nfes, ys, "o-", label=name)
    ax.plot(grid.numpy(), (0.5 / grid).numpy(), "k:", label="0.5 / N")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("NFE (steps)")
    ax.set_ylabel(label)
axes[0].axhline(floor, color="0.5", ls="--", label=f"TV of {N} exact draws")
axes[1].set_yscale("log")
axes[0].legend()
fig.tight_layout()
fig.savefig(OUT / "tv_vs_nfe.png", dpi=90, bbox_inches="tight")
plt.close(fig)

# %% [markdown]
# Expect the total variation to start near 0.5 at one step (both tokens drawn from their
# marginals) and to fall toward the Monte-Carlo floor of a histogram of this many samples, which
# it cannot go below. The share of samples on empty cells has no such floor: it follows 0.5 / N
# step for step. With 2,000 training steps the network's curves lie on those of the exact
# posterior: on this small problem its own error is too small to see at this sample size, and
# what is left is the sampler's, which only more steps remove. (The quick pass of the tests
# trains for a few dozen steps; its network is visibly worse.)
#
# ## 4. The likelihood bound
#
# The mask path gives a bound on the log-likelihood of a sequence,
#
#     -log p(x1) <= int_0^1 w_t E[ sum over masked i of -log p(x1^i | x_t) ] dt,
#
# which `mask_elbo` estimates in nats per token (the same draw as the training loss). With the
# exact posterior the bound is tight: masking the tokens one by one in a random order and
# predicting each from those still visible is the chain rule of probability, so its expectation
# is exactly -log p(x1) / L. For the checkerboard that is the entropy per token for every x1,
# log(8192) / 2: a row with one token masked scores log 64 (the visible token leaves 64 values
# for the other), a row with both masked scores log 128 per token, and the draw picks each half
# of the time. A trained network's bound is above it by its error.

# %%
x_eval = data.sample(N, torch.Generator().manual_seed(6)).x
network = Posterior(model)
exact_bound = mask_elbo(exact_posterior, path, x_eval, samples=4)
network_bound = mask_elbo(network, path, x_eval, samples=4)
for name, b in (("exact posterior", exact_bound), ("trained network", network_bound)):
    print(f"{name:16s} bound {b.nll:.4f} ± {b.stderr:.4f} nats per token ({b.bpc:.4f} bits); entropy {entropy / 2:.4f}")

# %% [markdown]
# The two figures come from the same draws of masks and times (`mask_elbo`'s default generator),
# so their difference is the network's own error, with much less noise than either figure alone.

# %%
print(f"network minus exact: {network_bound.nll - exact_bound.nll:.5f} nats per token")

# %% [markdown]
# Expect the exact posterior's figure to agree with the entropy within its standard error. The
# network's figure alone sits within a standard error or two of it as well, but the paired
# difference is positive: here about a thousandth of a nat per token, the price of the
# network's error, which the bound can only add. The bound is the figure `flowmatch likelihood`
# reports for a text run (there in nats and bits per character).
#
# ## 5. Classifier-free guidance
#
# The checkerboard's labels are its quadrants (0 to 3). A class-conditional posterior
# p(x1^i | x_t, y) is trained the same way, with each label replaced by a null class (index 4)
# with probability 0.1 (`drop_labels`), so that the one network also knows the unconditional
# posterior. At sampling, `posterior(model, y=..., guidance=w, ...)` combines the two on their
# logits, softmax(w log p(. | x_t, y) + (1 - w) log p(. | x_t, null)): w = 0 ignores the label,
# w = 1 is the plain conditional posterior, w > 1 pushes further toward the class.

# %%
conditional, _ = train(num_classes=4, label_drop=0.1, seed=1)
n_class = N // 8
labels = torch.arange(4).repeat_interleave(n_class)
guided = {}
with torch.no_grad():
    for w in (0.0, 1.0, 2.0):
        post = posterior(conditional, y=labels, guidance=w, num_classes=4)
        x = sample_discrete(post, path, path.sample_source((len(labels), 2)), steps=16, generator=torch.Generator().manual_seed(7)).x
        inside = (data.quadrant(x) == labels).double().reshape(4, n_class).mean(1)
        guided[w] = x
        print(f"guidance {w}: in the requested quadrant {100 * inside.mean():.2f}% (worst class {100 * inside.min():.2f}%) at NFE 16")

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
for k, ax in enumerate(axes):
    x = guided[2.0][labels == k]
    hist = torch.bincount(x[:, 0] * V + x[:, 1], minlength=V * V).reshape(V, V)
    ax.imshow(hist.T.numpy(), origin="lower", cmap="magma", interpolation="nearest")
    ax.set_title(f"quadrant {k}, guidance 2")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
fig.savefig(OUT / "guided.png", dpi=90, bbox_inches="tight")
plt.close(fig)

# %% [markdown]
# Expect about 25% at w = 0 (the label is ignored; a quadrant holds a quarter of the data) and
# nearly all samples in the requested quadrant at w = 1 and 2: on this set the plain conditional
# posterior already misses about one sample in a thousand. The few points on the empty cells
# inside each quadrant are the sampler's 0.5 / N at 16 steps (section 3), not the guidance. The
# [guide](../guide/discrete.md) has the command-line version of every step (`flowmatch train
# --data discrete-checkerboard`, `flowmatch sample --class K --guidance W`, `flowmatch eval`,
# `flowmatch likelihood`), and [the benchmarks](../benchmarks/discrete.md) compare flowmatch
# with facebookresearch/flow_matching on the same set.
