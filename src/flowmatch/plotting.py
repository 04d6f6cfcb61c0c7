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


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _bounds(*sets: np.ndarray, pad: float = 0.5) -> tuple[float, float, float, float]:
    pts = np.concatenate([s[:, :2] for s in sets])
    lo, hi = np.quantile(pts, 0.005, axis=0) - pad, np.quantile(pts, 0.995, axis=0) + pad
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _save(fig, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return out


def plot_points(x, out: str | Path, title: str = "samples") -> Path:
    """Scatter plot of x: (N, 2) (the first two coordinates if D > 2)."""
    plt = _plt()
    x = _np(x)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color="C0")
    ax.set_title(title)
    ax.set_aspect("equal")
    return _save(fig, out)


def plot_samples_vs_data(samples, data, out: str | Path, title: str = "") -> Path:
    """Side by side: generated samples (N, 2) and data (M, 2) on the same axes limits."""
    plt = _plt()
    s, d = _np(samples), _np(data)
    x0, x1, y0, y1 = _bounds(s, d)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
    for ax, pts, name, color in ((axes[0], d, "data", "C1"), (axes[1], s, "samples", "C0")):
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.5, color=color)
        ax.set_title(name)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
    if title:
        fig.suptitle(title)
    return _save(fig, out)


def plot_trajectories(trajectory, out: str | Path, max_paths: int = 300, title: str = "trajectories") -> Path:
    """trajectory: (T, N, 2) states along the ODE; lines from the source (black) to samples (blue)."""
    plt = _plt()
    tr = _np(trajectory)[:, :max_paths]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(tr[:, :, 0], tr[:, :, 1], color="olive", alpha=0.25, lw=0.7)
    ax.scatter(tr[0, :, 0], tr[0, :, 1], s=4, color="black", label="x0 (t=0)")
    ax.scatter(tr[-1, :, 0], tr[-1, :, 1], s=4, color="C0", label="x1 (t=1)")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_aspect("equal")
    ax.set_title(title)
    return _save(fig, out)


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
    plt = _plt()
    xs, ys = np.linspace(bounds[0], bounds[1], grid), np.linspace(bounds[2], bounds[3], grid)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32, device=device)
    fig, axes = plt.subplots(1, len(times), figsize=(3.2 * len(times), 3.4))
    for ax, t in zip(np.atleast_1d(axes), times):
        v = _np(velocity(pts, torch.full((len(pts),), float(t), device=device)))
        speed = np.linalg.norm(v, axis=1)
        ax.quiver(gx, gy, v[:, 0].reshape(gx.shape), v[:, 1].reshape(gx.shape), speed.reshape(gx.shape), cmap="viridis")
        ax.set_title(f"v(x, t={t:g})")
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, out)


def plot_loss(log_file: str | Path, out: str | Path) -> Path:
    """Training loss against step from a run's log.jsonl."""
    plt = _plt()
    rows = [json.loads(line) for line in Path(log_file).read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], color="C3")
    ax.set_xlabel("step")
    ax.set_ylabel("CFM loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return _save(fig, out)


def log_density_grid(run, bounds: tuple[float, float, float, float], grid: int = 80, solver: str = "rk4", steps: int = 16) -> np.ndarray:
    """(grid, grid) model log-density log p1 at the points of a regular grid over `bounds`
    (rows follow y), by the exact-trace likelihood with a fixed-step solver."""
    from flowmatch.likelihood import run_log_likelihood

    xs, ys = np.linspace(bounds[0], bounds[1], grid), np.linspace(bounds[2], bounds[3], grid)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    res = run_log_likelihood(run, pts, exact=True, method=solver, steps=steps, batch_size=4096)
    return _np(res.log_likelihood).reshape(gx.shape)


def plot_density(run, data, out: str | Path, grid: int = 80, solver: str = "rk4", steps: int = 16) -> Path:
    """The model's log-density on a 2D grid (left) beside a 2D histogram of data (N, 2) (right)."""
    plt = _plt()
    d = _np(data)
    x0, x1, y0, y1 = _bounds(d)
    logp = log_density_grid(run, (x0, x1, y0, y1), grid=grid, solver=solver, steps=steps)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True, sharey=True, constrained_layout=True)
    # Clip far tails so the colour scale shows the structure where the mass is.
    im = axes[0].imshow(np.maximum(logp, logp.max() - 10), origin="lower", extent=(x0, x1, y0, y1), cmap="magma", aspect="auto")
    fig.colorbar(im, ax=axes[0], label="model log p(x)", shrink=0.85, location="left")
    axes[0].set_title(f"model log-density ({solver}, {steps} steps)")
    axes[1].hist2d(d[:, 0], d[:, 1], bins=grid, range=[[x0, x1], [y0, y1]], cmap="magma")
    axes[1].set_title(f"data histogram (n={len(d)})")
    for ax in axes:
        ax.set_aspect("equal")
    return _save(fig, out)


def plot_run(run_dir: str | Path, out_dir: str | Path, n: int = 2000, device: str = "auto", seed: int = 0, density: bool = False) -> list[Path]:
    """The standard pictures of a trained 2D run: samples.png, trajectories.png, field.png,
    loss.png, and with density=True density.png (log-density beside a data histogram)."""
    from flowmatch.errors import FlowmatchError
    from flowmatch.sampling import sample_run
    from flowmatch.training import LOG_FILE, load_run

    run = load_run(run_dir, device=device)
    if run.data.shape != (2,):
        raise FlowmatchError(f"'plot' draws 2D runs; this run's data has shape {run.data.shape}")
    out_dir = Path(out_dir)
    res = sample_run(run, n, solver="midpoint", steps=16, seed=seed, trajectory=True)
    data = run.data.sample(n, torch.Generator().manual_seed(seed + 1)).x
    x0, x1, y0, y1 = _bounds(_np(res.x), _np(data))
    files = [
        plot_samples_vs_data(res.x, data, out_dir / "samples.png", title=f"{run.config.data}: midpoint, NFE {res.nfe}"),
        plot_trajectories(res.trajectory, out_dir / "trajectories.png"),
        plot_vector_field(run.model, out_dir / "field.png", bounds=(x0, x1, y0, y1), device=run.device),
    ]
    log = Path(run_dir) / LOG_FILE
    if log.exists() and log.stat().st_size:
        files.append(plot_loss(log, out_dir / "loss.png"))
    if density:
        hist = run.data.sample(max(n, 20000), torch.Generator().manual_seed(seed + 2)).x
        files.append(plot_density(run, hist, out_dir / "density.png"))
    return files
