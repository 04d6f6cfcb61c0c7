# %% [markdown]
# # Flows on the sphere: Riemannian flow matching
#
# Earthquakes, wildfires, wind directions and the orientation of a molecule live on curved
# spaces: a point of the Earth is a unit vector of R^3, not any point of R^3. Flow matching
# carries over with three changes. The straight line from a source point to a data point becomes
# the **geodesic** (a great circle on the sphere); the network's velocity is made **tangent** to
# the sphere; and the ODE solver **steps in the tangent space** and comes back to the sphere.
# The source is the uniform distribution on the sphere instead of a Gaussian.
#
# This tutorial checks each of these numerically, trains a flow on a mixture of von Mises-Fisher
# distributions whose density is known exactly, draws its samples on a world map, scores it by
# its exact likelihood on the sphere, and ends with the torus, where the same recipe learns
# periodic data. The reference is Chen and Lipman, "Flow Matching on General Geometries"
# (ICLR 2024); the formulas, in flowmatch's convention (t = 0 source, t = 1 data), are in the
# [manifolds guide](../guide/manifolds.md).

# %%
import math
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from flowmatch.likelihood import manifold_log_likelihood
from flowmatch.loss import riemannian_fm_loss
from flowmatch.manifolds import FlatTorus, Sphere, TangentVelocity, latlon_to_xyz, xyz_to_latlon
from flowmatch.manifolds.distributions import vmf_mixture, wrapped_normal_mixture
from flowmatch.metrics import geodesic_w2
from flowmatch.models import build_model
from flowmatch.paths import CondOTSchedule, GeodesicPath
from flowmatch.solvers import solve, solve_on_manifold
from flowmatch.viz import plot_manifold_trajectories

QUICK = os.environ.get("FLOWMATCH_TUTORIAL_QUICK") == "1"  # CI: a few training steps and points, same code
OUT = Path("runs/tutorials/flows_on_the_sphere")
OUT.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
sphere = Sphere(2)  # S^2 as unit vectors of R^3
EARTH_KM = 6371.0

# %% [markdown]
# ## Why not a straight line
#
# Take two cities, London and Tokyo, as unit vectors. The straight line (1 - t) x0 + t x1 between
# them leaves the sphere: half-way it runs deep under the surface. Normalising it puts it back on
# the right curve, the great circle, but at the wrong speed. The geodesic path
#
#     x_t = exp_{x0}(t log_{x0}(x1))
#
# follows the great circle at the constant speed d(x0, x1), the angle between the two points.
# `GeodesicPath` gives x_t and its velocity u_t = d/dt x_t in closed form; we check its norm, its
# speed, its end points, that u_t is tangent (`<x_t, u_t> = 0`), and u_t against a finite difference.

# %%
cities = latlon_to_xyz(torch.tensor([51.5, 35.7], dtype=torch.float64), torch.tensor([-0.1, 139.7], dtype=torch.float64))
x0, x1 = cities[:1], cities[1:]
t = torch.linspace(0, 1, 201, dtype=torch.float64)
n = len(t)

chord = (1 - t[:, None]) * x0 + t[:, None] * x1
lowest = chord.norm(dim=1).min().item()
print(f"straight line: smallest |x_t| {lowest:.3f}, {(1 - lowest) * EARTH_KM:.0f} km under the surface half-way")
h = 1e-4
normalised = sphere.projx(chord)
speed_normalised = (sphere.projx((1 - t - h)[:, None] * x0 + (t + h)[:, None] * x1) - sphere.projx((1 - t + h)[:, None] * x0 + (t - h)[:, None] * x1)).norm(dim=1) / (2 * h)
print(f"normalised straight line: on the sphere, speed from {speed_normalised.min():.3f} to {speed_normalised.max():.3f}")

path = GeodesicPath(sphere, CondOTSchedule())
p = path.sample(x0.expand(n, 3), x1.expand(n, 3), t)
d = sphere.dist(x0, x1).item()
speed = p.velocity.norm(dim=1)
fd = (path.sample(x0.expand(n, 3), x1.expand(n, 3), t + h).x_t - path.sample(x0.expand(n, 3), x1.expand(n, 3), t - h).x_t) / (2 * h)
print(f"geodesic: largest |norm - 1| {(p.x_t.norm(dim=1) - 1).abs().max():.1e}")
print(f"geodesic: speed from {speed.min():.6f} to {speed.max():.6f}, d(x0, x1) = {d:.6f} rad = {d * EARTH_KM:.0f} km")
print(f"geodesic: end points off by {(p.x_t[0] - x0[0]).norm():.1e} and {(p.x_t[-1] - x1[0]).norm():.1e}")
print(f"geodesic: largest |<x_t, u_t>| {(p.x_t * p.velocity).sum(1).abs().max():.1e}, u_t against a finite difference {(fd - p.velocity)[1:-1].abs().max():.1e}")

# %% [markdown]
# The normalised straight line and the geodesic trace the same great circle; only the geodesic
# moves along it at a constant speed, and its velocity is the one a flow on the sphere must learn.
# The picture is the plane through the Earth's centre and the two cities, with a dot every tenth
# of the time: the straight line cuts under the surface, its normalisation crowds its dots at the
# ends, the geodesic spaces them evenly.

# %%
e1 = x0[0]
e2 = sphere.proju(x0, x1)[0] / sphere.proju(x0, x1)[0].norm()  # the plane of the great circle


def in_plane(x: torch.Tensor) -> np.ndarray:
    return torch.stack([x @ e1, x @ e2], dim=1).numpy()


every = slice(None, None, 20)  # t = 0, 0.1, ..., 1
fig, ax = plt.subplots(figsize=(6, 4.2))
circle = np.linspace(-0.2, 1.8, 200)
ax.plot(np.cos(circle), np.sin(circle), color="0.8", lw=6, label="the surface (great circle)")
for pts, style, label in ((chord, "C3", "straight line"), (normalised, "C1", "normalised straight line"), (p.x_t, "C0", "geodesic")):
    xy = in_plane(pts)
    ax.plot(xy[:, 0], xy[:, 1], color=style, lw=1)
    ax.scatter(xy[every, 0], xy[every, 1], color=style, s=18, label=label, zorder=3)
for name, xy in zip(("Earth's centre", "London", "Tokyo"), np.concatenate([np.zeros((1, 2)), in_plane(cities)])):
    ax.scatter(*xy, color="k", s=10)
    ax.annotate(name, xy, textcoords="offset points", xytext=(6, 4), fontsize=8)
ax.set_aspect("equal")
ax.set_axis_off()
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
ax.set_title("London to Tokyo, a dot every tenth of the time")
fig.savefig(OUT / "geodesic.png", bbox_inches="tight", dpi=110)
plt.close(fig)

# %% [markdown]
# ## The Riemannian flow-matching loss
#
# The data: `vmf_mixture()`, four von Mises-Fisher components on S^2 with concentrations 10 to
# 40, `p(x) = sum_k w_k kappa_k / (4 pi sinh kappa_k) exp(kappa_k <mu_k, x>)`. Its density is known
# in closed form, so its entropy H(p) = -integral p log p dA (the best NLL any model can score on
# its draws) can be computed by quadrature. A grid with equal steps in z = sin(latitude) and in
# longitude has cells of equal area (Archimedes' hat-box theorem), so the integral is a plain mean
# over the cell centres times 4 pi.
#
# The network: an MLP that sees the point's coordinates (x, y, z) and t. Its raw output is any
# vector of R^3; `TangentVelocity` projects it onto the tangent plane at x,
# `P_x w = w - <x, w> x`, so that the field it defines can be followed without leaving the sphere.
#
# The loss: draw x0 uniform on the sphere, x1 from the data, t uniform, and regress the field at
# x_t on the geodesic's velocity u_t, in the metric's norm:
#
#     L = E |P_{x_t} v(x_t, t) - u_t|^2.
#
# As in flat space, the minimiser is the marginal velocity, the average of u_t over the pairs
# (x0, x1) that pass through x_t; the loss itself does not go to zero. Expect the printed loss to
# fall quickly and then flatten: its floor, the spread of u_t around that average, is not known
# in closed form, so the loss alone does not say how good the flow is. The likelihood below does.

# %%


def equal_area_grid(n: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Centres of an n x 2n grid of equal-area cells of S^2: points (2 n^2, 3), latitudes (n,) and longitudes (2n,) in radians."""
    z = (torch.arange(n, dtype=torch.float64) + 0.5) / n * 2 - 1
    lon = (torch.arange(2 * n, dtype=torch.float64) + 0.5) / n * math.pi - math.pi
    zz, ll = torch.meshgrid(z, lon, indexing="ij")
    rho = (1 - zz**2).sqrt()
    points = torch.stack([rho * ll.cos(), rho * ll.sin(), zz], dim=-1).reshape(-1, 3)
    return points, torch.asin(z).numpy(), lon.numpy()


target = vmf_mixture()
cells, _, _ = equal_area_grid(500)
logp_cells = target.log_prob(cells)
print(f"quadrature on {len(cells):,} cells: total mass {4 * math.pi * logp_cells.exp().mean():.5f}")
entropy = float(-4 * math.pi * (logp_cells.exp() * logp_cells).mean())
print(f"the vMF mixture: entropy {entropy:.3f} nats; the uniform distribution on S^2 scores log(4 pi) = {math.log(4 * math.pi):.3f}")

net = build_model("mlp", (3,), hidden=256, depth=4)
model = TangentVelocity(net, sphere)
g = torch.Generator().manual_seed(0)
xs, ts = sphere.random_base(1000, g), torch.rand(1000, generator=g)
with torch.no_grad():
    raw, tangent = net(xs, ts), model(xs, ts)
print(f"raw network output: mean |w| {raw.norm(dim=1).mean():.3f}, mean |<x, w>| {(xs * raw).sum(1).abs().mean():.3f}; after TangentVelocity: largest |<x, v>| {(xs * tangent).sum(1).abs().max():.1e}")

# %%
STEPS = 60 if QUICK else 5000
BATCH = 256
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS)
start, losses = time.perf_counter(), []
for step in range(1, STEPS + 1):
    x1b, x0b, tb = target.sample(BATCH, g), sphere.random_base(BATCH, g), torch.rand(BATCH, generator=g)
    loss = riemannian_fm_loss(model, path, x0b, x1b, tb)  # path: the GeodesicPath of the first section
    opt.zero_grad()
    loss.backward()
    opt.step()
    schedule.step()
    losses.append(loss.item())
    if step % (STEPS // 5) == 0:
        print(f"step {step:5d}: loss {np.mean(losses[-STEPS // 5 :]):.3f}")
print(f"{STEPS} steps in {time.perf_counter() - start:.0f} s")
model.eval()

# %% [markdown]
# ## Sampling on the sphere
#
# `solve_on_manifold` runs the ODE dx/dt = v(x, t) from uniform source points. Its projected
# midpoint method takes the flat midpoint step of the field projected onto the tangent space,
# then puts the result back on the sphere (`projx`, a normalisation): second order, and on the
# sphere to rounding error. A flat solver that ignores the sphere, for comparison, drifts off it:
# every Euler step x + h v with v tangent lengthens x by a factor sqrt(1 + h^2 |v|^2).

# %%
N = 300 if QUICK else 3000
source = sphere.random_base(N, torch.Generator().manual_seed(1))
with torch.no_grad():
    res = solve_on_manifold(sphere, model, source, method="midpoint", steps=50, trajectory=True)
    flat = solve(model, source, method="euler", steps=50)
samples = res.x
print(f"solve_on_manifold (midpoint, NFE {res.nfe}): largest |norm - 1| {(samples.norm(dim=1) - 1).abs().max():.1e}")
print(f"flat Euler, no projection (NFE {flat.nfe}): largest |norm - 1| {(flat.x.norm(dim=1) - 1).abs().max():.1e}")

data = target.sample(N, torch.Generator().manual_seed(2))
data2 = target.sample(N, torch.Generator().manual_seed(3))
w2 = {name: geodesic_w2(sphere, x, data) for name, x in (("samples", samples), ("a second draw of the data", data2), ("uniform points", source))}
print("geodesic W2 to fresh data (rad): " + ", ".join(f"{name} {value:.3f}" for name, value in w2.items()))

# %% [markdown]
# The geodesic Wasserstein distance (exact optimal transport with the great-circle distance as
# the cost) puts a number on the samples: a second draw of the data gives the floor that finite
# samples allow, uniform points a ceiling. A trained flow should land between the two, much
# nearer the floor. The picture: an equal-area (Mollweide) world map, so that the density of
# dots is the density of probability, with the samples on the left and the true density on the
# right.


# %%
def lonlat(x: torch.Tensor) -> np.ndarray:
    """(N, 3) points -> (N, 2) longitude, latitude in radians, as matplotlib's map projections take them."""
    return np.deg2rad(xyz_to_latlon(x.double()).numpy()[:, ::-1])


grid, lat_c, lon_c = equal_area_grid(30 if QUICK else 90)
true_logp = target.log_prob(grid).numpy().reshape(len(lat_c), len(lon_c))


def world_map(fig, where: int, title: str):
    ax = fig.add_subplot(where, projection="mollweide")
    ax.grid(True, alpha=0.3)
    ax.set_xticklabels([])
    ax.set_title(title, pad=12)
    return ax


fig = plt.figure(figsize=(12, 3.6))
ll = lonlat(samples)
world_map(fig, 121, f"{N} samples (midpoint, NFE {res.nfe})").scatter(ll[:, 0], ll[:, 1], s=1, alpha=0.5)
mesh = world_map(fig, 122, "true log-density").pcolormesh(lon_c, lat_c, true_logp, shading="nearest", vmin=-6, cmap="viridis")
fig.colorbar(mesh, ax=fig.axes, shrink=0.7, label="log p (nats)")
fig.savefig(OUT / "samples_vs_density.png", bbox_inches="tight", dpi=110)
plt.close(fig)
plot_manifold_trajectories(res.trajectory[::5], "sphere", OUT / "trajectories.png", max_paths=200)

# %% [markdown]
# With full training the four clusters sit where the density is high, each about as wide as
# its component; the quick pass of the tests gives a blur. `trajectories.png` draws 200 paths
# from the uniform source: each moves along a curve on the sphere, cut where it crosses the
# map's edge.
#
# ## Likelihood on the sphere
#
# The continuity equation holds on the sphere with the Riemannian divergence,
# div v = tr(P J P) (J the Jacobian of v in coordinates, P the projection onto the tangent
# plane):
#
#     log p_1(x1) = log p_0(x0) - integral_0^1 div v(x_t, t) dt,
#
# with densities with respect to area. Two fields with a known answer first: the zero field and a
# rigid rotation about the polar axis both carry the uniform distribution to itself, so every
# point scores exactly -log(4 pi), an NLL of 2.531 nats.

# %%
probe = sphere.random_base(200, torch.Generator().manual_seed(4))


def still(x, t):
    return torch.zeros_like(x)


def spin(x, t):
    return torch.stack([-x[:, 1], x[:, 0], torch.zeros_like(x[:, 0])], dim=1)


for name, field in (("zero field", still), ("rotation", spin)):
    r = manifold_log_likelihood(sphere, field, probe, steps=20)
    print(f"{name:10s}: NLL {r.nll:.4f} nats, largest error {(r.log_likelihood + math.log(4 * math.pi)).abs().max():.1e}")

# %% [markdown]
# Now the trained flow, on fresh draws of the mixture. Its NLL estimates the cross-entropy
# H(p, p_model) = H(p) + KL(p || p_model), so it should come out above the entropy by the
# Kullback-Leibler divergence (give or take the Monte Carlo error printed beside it) and far
# below the uniform distribution's 2.531. The difference log p - log p_model on the same points
# estimates that divergence with a much smaller error than either NLL alone, and the KL can
# never be negative. `manifold_log_likelihood` solves the ODE back from the data with the
# projected midpoint method, 100 steps by default, and the exact divergence.

# %%
fresh = target.sample(200 if QUICK else 1000, torch.Generator().manual_seed(5))
start = time.perf_counter()
r = manifold_log_likelihood(sphere, model, fresh)
gap = -r.log_likelihood.double() + target.log_prob(fresh.double())  # log p - log p_model, point by point
print(f"trained flow: NLL {r.nll:.3f} +- {r.nll_se:.3f} nats ({len(fresh)} points, NFE {r.nfe}, {time.perf_counter() - start:.1f} s)")
print(f"the true density on the same points: NLL {-target.log_prob(fresh.double()).mean():.3f}; entropy {entropy:.4f}; the uniform source {math.log(4 * math.pi):.3f}")
print(f"KL(p || p_model) estimated on the same points: {gap.mean():.3f} +- {gap.std() / math.sqrt(len(gap)):.3f} nats")

# %% [markdown]
# The same likelihood on the map's grid draws the model's density beside the truth.

# %%
pts, lat_g, lon_g = equal_area_grid(12 if QUICK else 40)
start = time.perf_counter()
model_logp = manifold_log_likelihood(sphere, model, pts.float(), steps=50).log_likelihood.numpy().reshape(len(lat_g), len(lon_g))
print(f"model log-density at {len(pts)} grid points (50 midpoint steps): {time.perf_counter() - start:.1f} s")
fig = plt.figure(figsize=(12, 3.6))
for where, title, la, lo, z in ((121, "model log-density", lat_g, lon_g, model_logp), (122, "true log-density", lat_c, lon_c, true_logp)):
    mesh = world_map(fig, where, title).pcolormesh(lo, la, z, shading="nearest", vmin=-6, vmax=float(true_logp.max()), cmap="viridis")
fig.colorbar(mesh, ax=fig.axes, shrink=0.7, label="log p (nats)")
fig.savefig(OUT / "model_density.png", bbox_inches="tight", dpi=110)
plt.close(fig)

# %% [markdown]
# ## The torus: the periodic square
#
# Pairs of angles (the two dihedral angles of a protein's backbone, wind direction and time of
# day) live on the torus T^2 = [-pi, pi)^2 with opposite edges glued. It is flat: its geodesics
# are straight lines that wrap around at the edges, log_x(y) = wrap(y - x) takes the short way
# round, and the network sees (cos, sin) of each angle so that its field is periodic. The code
# is the sphere's with three substitutions: `FlatTorus(2)` for `Sphere(2)`,
# `build_model(..., manifold=torus)` (the torus's `TangentVelocity`, which turns the network's
# output in (cos, sin) coordinates into angle velocities), and the data: four wrapped normals,
# two of which straddle an edge of the square.

# %%
torus = FlatTorus(2)
wrapped = wrapped_normal_mixture()
angles = (torch.arange(400, dtype=torch.float64) + 0.5) / 400 * 2 * math.pi - math.pi
logp_square = wrapped.log_prob(torch.cartesian_prod(angles, angles))  # quadrature again: the square's cells
area = 4 * math.pi**2
torus_entropy = float(-area * (logp_square.exp() * logp_square).mean())
torus_model = build_model("mlp", (2,), hidden=128, depth=3, manifold=torus)
torus_path = GeodesicPath(torus, CondOTSchedule())
TORUS_STEPS = 40 if QUICK else 3000
opt = torch.optim.Adam(torus_model.parameters(), lr=2e-3)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, TORUS_STEPS)
start = time.perf_counter()
for _ in range(TORUS_STEPS):
    x1b, x0b, tb = wrapped.sample(BATCH, g), torus.random_base(BATCH, g), torch.rand(BATCH, generator=g)
    loss = riemannian_fm_loss(torus_model, torus_path, x0b, x1b, tb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    schedule.step()
torus_model.eval()
with torch.no_grad():
    torus_res = solve_on_manifold(torus, torus_model, torus.random_base(N, torch.Generator().manual_seed(6)), method="midpoint", steps=50, trajectory=True)
torus_samples = torus_res.x
fresh = wrapped.sample(200 if QUICK else 1000, torch.Generator().manual_seed(7))
r = manifold_log_likelihood(torus, torus_model, fresh)
gap = -r.log_likelihood.double() + wrapped.log_prob(fresh.double())
print(f"torus: {TORUS_STEPS} steps and scoring in {time.perf_counter() - start:.0f} s; samples in [-pi, pi): {bool(((torus_samples >= -math.pi) & (torus_samples < math.pi)).all())}")
print(f"torus: NLL {r.nll:.3f} +- {r.nll_se:.3f}; entropy {torus_entropy:.4f}; the uniform source 2 log(2 pi) = {2 * math.log(2 * math.pi):.3f}")
print(f"torus: KL(p || p_model) estimated on the same points: {gap.mean():.3f} +- {gap.std() / math.sqrt(len(gap)):.3f} nats")

fig, axes = plt.subplots(1, 2, figsize=(9, 4.4))
truth = wrapped.sample(N, torch.Generator().manual_seed(8))
for ax, (title, pts_) in zip(axes, (("data", truth), ("samples", torus_samples))):
    ax.scatter(pts_[:, 0], pts_[:, 1], s=2, alpha=0.5)
    ax.set(xlim=(-math.pi, math.pi), ylim=(-math.pi, math.pi), aspect="equal", title=title, xlabel="angle 1", ylabel="angle 2")
fig.savefig(OUT / "torus.png", bbox_inches="tight", dpi=110)
plt.close(fig)
plot_manifold_trajectories(torus_res.trajectory[::5], "torus", OUT / "torus_trajectories.png", max_paths=200)

# %% [markdown]
# The components that straddle an edge are drawn in two halves, at opposite edges of the
# square: for the torus each is one cluster. In `torus_trajectories.png` a path that leaves the
# square at one edge comes back in at the opposite one (the picture cuts it there), so source
# points on either side reach the same cluster by the short way round. As on the sphere, the NLL
# should land above the entropy (by the estimated KL) and well below the uniform source's figure.
#
# ## Where next
#
# - The toolkit does all of this from the command line: `flowmatch train --data vmf-mixture
#   --manifold sphere`, then `sample`, `likelihood`, `eval` and `plot`; in Python,
#   `flowmatch.fit(TrainConfig(data="vmf-mixture", manifold="sphere"))`
#   ([manifolds guide](../guide/manifolds.md)).
# - Real data on the Earth (latitude, longitude files) and a source fitted to the data (a
#   mixture of von Mises-Fisher distributions, `--source mixture`): the same guide, and the
#   [benchmarks](../benchmarks/manifolds.md).
