"""Pictures: samples against data, trajectories, vector fields, loss curves, log-densities, NFE
sweeps, the standard pictures of a trained 2D run, and the 2D discrete set's histograms. matplotlib (Agg) is imported here only."""

from flowmatch.runs.images import save_image_grid
from flowmatch.viz.discrete import plot_text_samples, plot_token_histogram, plot_token_path
from flowmatch.viz.manifolds import plot_manifold_density, plot_manifold_points, plot_manifold_run, plot_manifold_trajectories
from flowmatch.viz.plots import (
    log_density_grid,
    plot_density,
    plot_loss,
    plot_points,
    plot_samples_vs_data,
    plot_trajectories,
    plot_vector_field,
)
from flowmatch.viz.report import plot_run
from flowmatch.viz.sweep import plot_sweep

__all__ = [
    "plot_manifold_density",
    "plot_manifold_points",
    "plot_manifold_run",
    "plot_manifold_trajectories",
    "log_density_grid",
    "plot_density",
    "plot_loss",
    "plot_points",
    "plot_run",
    "plot_samples_vs_data",
    "plot_sweep",
    "plot_text_samples",
    "plot_token_histogram",
    "plot_token_path",
    "plot_trajectories",
    "plot_vector_field",
    "save_image_grid",
]
