"""Pictures of a 2D flow: samples against data, trajectories, the vector field, the loss curve.

matplotlib is imported here only, with the non-interactive Agg backend, so plotting works on a
machine with no display.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from flowmatch.fileio import atomic_write
from flowmatch.runs import run_log_likelihood


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def bounds_of(*sets: np.ndarray, pad: float = 0.5) -> tuple[float, float, float, float]:
    pts = np.concatenate([s[:, :2] for s in sets])
    lo, hi = np.quantile(pts, 0.005, axis=0) - pad, np.quantile(pts, 0.995, axis=0) + pad
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def save_figure(fig, out: str | Path) -> Path:
    """Save a figure as PNG (creating the folder, atomically) and close it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(out, lambda fh: fig.savefig(fh, format="png", dpi=110, bbox_inches="tight"))
    finally:
        pyplot().close(fig)
    return out


def plot_points(x, out: str | Path, title: str = "samples") -> Path:
    """Scatter plot of x: (N, 2) (the first two coordinates if D > 2)."""
    plt = pyplot()
    x = to_numpy(x)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color="C0")
    ax.set_title(title)
    ax.set_aspect("equal")
    return save_figure(fig, out)


def plot_samples_vs_data(samples, data, out: str | Path, title: str = "") -> Path:
    """Side by side: generated samples (N, 2) and data (M, 2) on the same axes limits."""
    plt = pyplot()
    s, d = to_numpy(samples), to_numpy(data)
    x0, x1, y0, y1 = bounds_of(s, d)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
    for ax, pts, name, color in ((axes[0], d, "data", "C1"), (axes[1], s, "samples", "C0")):
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.5, color=color)
        ax.set_title(name)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
    if title:
        fig.suptitle(title)
    return save_figure(fig, out)


def plot_trajectories(trajectory, out: str | Path, max_paths: int = 300, title: str = "trajectories") -> Path:
    """trajectory: (T, N, 2) states along the ODE; lines from the source (black) to samples (blue)."""
    plt = pyplot()
    tr = to_numpy(trajectory)[:, :max_paths]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(tr[:, :, 0], tr[:, :, 1], color="olive", alpha=0.25, lw=0.7)
    ax.scatter(tr[0, :, 0], tr[0, :, 1], s=4, color="black", label="x0 (t=0)")
    ax.scatter(tr[-1, :, 0], tr[-1, :, 1], s=4, color="C0", label="x1 (t=1)")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_aspect("equal")
    ax.set_title(title)
    return save_figure(fig, out)


@torch.no_grad()
def plot_vector_field(
    velocity: Callable[..., torch.Tensor],
    out: str | Path,
    times: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    bounds: tuple[float, float, float, float] = (-4.0, 4.0, -4.0, 4.0),
    grid: int = 21,
    device: torch.device | str = "cpu",
) -> Path:
    """Quiver plots of v(x, t) over a grid of 2D points, one panel per time."""
    plt = pyplot()
    xs, ys = np.linspace(bounds[0], bounds[1], grid), np.linspace(bounds[2], bounds[3], grid)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32, device=device)
    fig, axes = plt.subplots(1, len(times), figsize=(3.2 * len(times), 3.4))
    for ax, t in zip(np.atleast_1d(axes), times):
        v = to_numpy(velocity(pts, torch.full((len(pts),), float(t), device=device)))
        speed = np.linalg.norm(v, axis=1)
        ax.quiver(gx, gy, v[:, 0].reshape(gx.shape), v[:, 1].reshape(gx.shape), speed.reshape(gx.shape), cmap="viridis")
        ax.set_title(f"v(x, t={t:g})")
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, out)


def plot_loss(log_file: str | Path, out: str | Path) -> Path:
    """Training loss against step from a run's log.jsonl."""
    plt = pyplot()
    rows = [json.loads(line) for line in Path(log_file).read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], color="C3")
    ax.set_xlabel("step")
    ax.set_ylabel("CFM loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return save_figure(fig, out)


def log_density_grid(run, bounds: tuple[float, float, float, float], grid: int = 80, method: str = "rk4", steps: int = 16, progress: bool = False) -> np.ndarray:
    """(grid, grid) model log-density log p1 at the points of a regular grid over `bounds`
    (rows follow y), by the exact-trace likelihood with a fixed-step solver."""
    xs, ys = np.linspace(bounds[0], bounds[1], grid), np.linspace(bounds[2], bounds[3], grid)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    res = run_log_likelihood(run, pts, exact=True, method=method, steps=steps, batch_size=1024, progress=progress)
    return to_numpy(res.log_likelihood).reshape(gx.shape)


def plot_density(run, data, out: str | Path, grid: int = 80, method: str = "rk4", steps: int = 16, progress: bool = False) -> Path:
    """The model's log-density on a 2D grid (left) beside a 2D histogram of data (N, 2) (right)."""
    plt = pyplot()
    d = to_numpy(data)
    x0, x1, y0, y1 = bounds_of(d)
    logp = log_density_grid(run, (x0, x1, y0, y1), grid=grid, method=method, steps=steps, progress=progress)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True, sharey=True, constrained_layout=True)
    # Clip far tails so the colour scale shows the structure where the mass is.
    im = axes[0].imshow(np.maximum(logp, logp.max() - 10), origin="lower", extent=(x0, x1, y0, y1), cmap="magma", aspect="auto")
    fig.colorbar(im, ax=axes[0], label="model log p(x)", shrink=0.85, location="left")
    axes[0].set_title(f"model log-density ({method}, {steps} steps)")
    axes[1].hist2d(d[:, 0], d[:, 1], bins=grid, range=[[x0, x1], [y0, y1]], cmap="magma")
    axes[1].set_title(f"data histogram (n={len(d)})")
    for ax in axes:
        ax.set_aspect("equal")
    return save_figure(fig, out)
