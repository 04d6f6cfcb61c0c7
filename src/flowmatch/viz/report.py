"""The standard pictures of a trained 2D run."""

from __future__ import annotations

from pathlib import Path

import torch

from flowmatch.errors import FlowmatchError
from flowmatch.runs import LOG_FILE, load_run, sample_run, sample_tokens
from flowmatch.runs.outputs import check_output_dir
from flowmatch.viz.discrete import plot_token_histogram, plot_token_path
from flowmatch.viz.manifolds import plot_manifold_run
from flowmatch.viz.plots import bounds_of, plot_density, plot_loss, plot_samples_vs_data, plot_trajectories, plot_vector_field, to_numpy

PLOT_FILES = ("samples.png", "trajectories.png", "field.png", "loss.png", "density.png", "path.png")


def plot_run(run_dir: str | Path, out_dir: str | Path, n: int = 2000, device: str = "auto", seed: int = 0, density: bool = False, progress: bool = False) -> list[Path]:
    """The standard pictures of a trained 2D run: samples.png, trajectories.png, field.png,
    loss.png, and with density=True density.png (log-density beside a data histogram; progress:
    its bar on a terminal). Samples are drawn with the run's recommended sampler."""
    check_output_dir(out_dir, "--out", PLOT_FILES)
    run = load_run(run_dir, device=device)
    if run.config.manifold != "euclidean":
        return plot_manifold_run(run, out_dir, n=n, seed=seed, density=density)
    if run.data.shape != (2,):
        raise FlowmatchError(f"'plot' draws 2D runs; this run's data has shape {run.data.shape}")
    out_dir = Path(out_dir)
    if run.discrete:  # the 2D discrete set: histograms of tokens, not points and a field
        return _plot_discrete_run(run, run_dir, out_dir, n, seed)
    res = sample_run(run, n, seed=seed, trajectory=True)
    data = run.data.sample(n, torch.Generator().manual_seed(seed + 1)).x
    x0, x1, y0, y1 = bounds_of(to_numpy(res.x), to_numpy(data))
    files = [
        plot_samples_vs_data(res.x, data, out_dir / "samples.png", title=f"{run.config.data}: {res.method}, NFE {res.nfe}"),
        plot_trajectories(res.trajectory, out_dir / "trajectories.png"),
        plot_vector_field(run.model, out_dir / "field.png", bounds=(x0, x1, y0, y1), device=run.device),
    ]
    log = Path(run_dir) / LOG_FILE
    if log.exists() and log.stat().st_size:
        files.append(plot_loss(log, out_dir / "loss.png"))
    if density:
        hist = run.data.sample(max(n, 20000), torch.Generator().manual_seed(seed + 2)).x
        files.append(plot_density(run, hist, out_dir / "density.png", progress=progress))
    return files


def _plot_discrete_run(run, run_dir: str | Path, out_dir: Path, n: int, seed: int) -> list[Path]:
    """samples.png (the histogram beside the exact law), path.png (the chain over time), loss.png."""

    res = sample_tokens(run, n, seed=seed, trajectory=True)
    truth = getattr(run.data, "probabilities", lambda: None)()
    files = [
        plot_token_histogram(res.x.cpu(), out_dir / "samples.png", vocab_size=run.path.vocab_size, truth=truth, title=f"{run.config.data}: NFE {res.nfe}"),
        plot_token_path(res.trajectory.cpu(), res.times, out_dir / "path.png", vocab_size=run.path.vocab_size, mask_token=run.path.mask_token),
    ]
    log = Path(run_dir) / LOG_FILE
    if log.exists() and log.stat().st_size:
        files.append(plot_loss(log, out_dir / "loss.png"))
    return files


__all__ = ["PLOT_FILES", "plot_run"]
