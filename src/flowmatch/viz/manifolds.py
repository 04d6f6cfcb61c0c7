"""Pictures of flows on curved spaces: the sphere S^2 as a world map in matplotlib's Mollweide
(equal-area) projection, the torus T^2 as the periodic square [-pi, pi)^2.

Samples, trajectories (a path is cut where it wraps around the map's edge) and the model's
log-density on a latitude/longitude grid (the exact likelihood at every grid point).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import latlon_to_xyz, xyz_to_latlon
from flowmatch.runs import run_log_likelihood, sample_run
from flowmatch.viz.plots import pyplot, save_figure, to_numpy


def _map_coordinates(x: torch.Tensor, manifold: str) -> np.ndarray:
    """(N, n) model coordinates -> (N, 2) plot coordinates: (longitude, latitude) in radians, or the two angles."""
    x = torch.as_tensor(x).detach().cpu().double()
    if manifold == "sphere":
        if x.shape[1] != 3:
            raise FlowmatchError(f"sphere pictures draw S^2 (points of 3 coordinates), got {x.shape[1]}")
        ll = np.deg2rad(xyz_to_latlon(x).numpy())
        return ll[:, ::-1].copy()
    if x.shape[1] != 2:
        raise FlowmatchError(f"torus pictures draw T^2 (2 angles), got {x.shape[1]}")
    return x.numpy()


def _axes(manifold: str, figsize=(7, 3.8)):
    plt = pyplot()
    fig = plt.figure(figsize=figsize if manifold == "sphere" else (4.2, 4.2))
    if manifold == "sphere":
        ax = fig.add_subplot(111, projection="mollweide")
        ax.grid(True, alpha=0.3)
        ax.set_xticklabels([])
    else:
        ax = fig.add_subplot(111)
        ax.set_xlim(-math.pi, math.pi)
        ax.set_ylim(-math.pi, math.pi)
        ax.set_aspect("equal")
        ax.set_xlabel("angle 1")
        ax.set_ylabel("angle 2")
    return fig, ax


def plot_manifold_points(x, manifold: str, out: str | Path, title: str = "samples", data=None) -> Path:
    """Samples x: (N, n) on the map (and data in grey behind them, when given)."""
    fig, ax = _axes(manifold)
    if data is not None:
        d = _map_coordinates(data, manifold)
        ax.scatter(d[:, 0], d[:, 1], s=1, alpha=0.3, color="0.5", label="data")
    p = _map_coordinates(x, manifold)
    ax.scatter(p[:, 0], p[:, 1], s=1.5, alpha=0.6, color="C0", label="samples")
    if data is not None:
        ax.legend(loc="lower right", fontsize=7, markerscale=4)
    ax.set_title(title, pad=14 if manifold == "sphere" else 6)
    return save_figure(fig, out)


def plot_manifold_trajectories(trajectory, manifold: str, out: str | Path, max_paths: int = 300) -> Path:
    """Paths (T, B, n) from the source (grey dots) to the samples (blue dots), cut where they cross the map's edge."""
    traj = torch.as_tensor(trajectory)[:, :max_paths]
    pts = np.stack([_map_coordinates(step, manifold) for step in traj])  # (T, B, 2)
    fig, ax = _axes(manifold)
    for b in range(pts.shape[1]):
        path = pts[:, b]
        jumps = np.where(np.abs(np.diff(path, axis=0)).max(axis=1) > math.pi)[0]
        for seg in np.split(path, jumps + 1):
            ax.plot(seg[:, 0], seg[:, 1], lw=0.5, alpha=0.5, color="C1")
    ax.scatter(pts[0, :, 0], pts[0, :, 1], s=2, color="0.4")
    ax.scatter(pts[-1, :, 0], pts[-1, :, 1], s=2, color="C0")
    ax.set_title("trajectories", pad=14 if manifold == "sphere" else 6)
    return save_figure(fig, out)


def log_density_map(run, manifold: str, resolution: int = 60, **likelihood) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(longitudes, latitudes or angles, log p: (R, 2R) or (R, R)) of a run on a grid of cell centres."""
    if manifold == "sphere":
        lat = np.linspace(-90, 90, resolution + 1)[:-1] + 90 / resolution
        lon = np.linspace(-180, 180, 2 * resolution + 1)[:-1] + 180 / (2 * resolution)
        glat, glon = np.meshgrid(lat, lon, indexing="ij")
        pts = latlon_to_xyz(torch.from_numpy(glat.ravel()), torch.from_numpy(glon.ravel())).float()
        logp = run_log_likelihood(run, pts, **likelihood).log_likelihood.cpu().numpy().reshape(glat.shape)
        return np.deg2rad(lon), np.deg2rad(lat), logp
    a = np.linspace(-math.pi, math.pi, resolution + 1)[:-1] + math.pi / resolution
    ga, gb = np.meshgrid(a, a, indexing="ij")
    pts = torch.from_numpy(np.stack([ga.ravel(), gb.ravel()], -1)).float()
    logp = run_log_likelihood(run, pts, **likelihood).log_likelihood.cpu().numpy().reshape(ga.shape)
    return a, a, logp.T


def plot_manifold_density(run, manifold: str, out: str | Path, resolution: int = 60, **likelihood) -> Path:
    """The run's log-density (nats w.r.t. area) on the map."""
    xs, ys, logp = log_density_map(run, manifold, resolution, **likelihood)
    fig, ax = _axes(manifold)
    mesh = ax.pcolormesh(xs, ys, logp, shading="nearest", cmap="viridis", vmin=float(np.quantile(logp, 0.02)))
    fig.colorbar(mesh, ax=ax, shrink=0.7, label="log p (nats)")
    ax.set_title("model log-density", pad=14 if manifold == "sphere" else 6)
    return save_figure(fig, out)


def plot_manifold_run(run, out_dir: str | Path, n: int = 2000, seed: int = 0, density: bool = False) -> list[Path]:
    """The standard pictures of a run on the sphere or the torus: samples.png, trajectories.png (and density.png)."""
    manifold = run.config.manifold
    out_dir = Path(out_dir)
    res = sample_run(run, n, method="midpoint", steps=50, seed=seed, trajectory=True)
    data = None
    try:
        data = run.data.sample(n, torch.Generator().manual_seed(seed + 1)).x
    except FlowmatchError:  # the data are not at hand: samples alone
        pass
    files = [
        plot_manifold_points(res.x, manifold, out_dir / "samples.png", title=f"{run.config.data}: midpoint, NFE {res.nfe}", data=data),
        plot_manifold_trajectories(res.trajectory[::5], manifold, out_dir / "trajectories.png", max_paths=200),
    ]
    if density:
        files.append(plot_manifold_density(run, manifold, out_dir / "density.png", resolution=40, steps=50))
    return files


__all__ = ["log_density_map", "plot_manifold_density", "plot_manifold_points", "plot_manifold_run", "plot_manifold_trajectories", "to_numpy"]
