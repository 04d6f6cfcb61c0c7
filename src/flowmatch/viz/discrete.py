"""Pictures of discrete flows on the 2D token grid: samples as a histogram beside the exact law,
and the path from the source to the data over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from flowmatch.viz.plots import pyplot, save_figure


def _histogram(x: torch.Tensor, vocab_size: int, mask_token: int | None = None) -> np.ndarray:
    """(N, 2) tokens -> (V, V) frequencies of the points with no masked coordinate."""
    x = x.long()
    shown = (x < vocab_size).all(1) if mask_token is not None else torch.ones(len(x), dtype=torch.bool)
    x = x[shown]
    counts = torch.bincount(x[:, 0] * vocab_size + x[:, 1], minlength=vocab_size * vocab_size).double()
    return (counts / max(len(shown), 1)).reshape(vocab_size, vocab_size).numpy()


def plot_token_histogram(x: torch.Tensor, out: str | Path, *, vocab_size: int, truth: torch.Tensor | None = None, title: str = "samples") -> Path:
    """The histogram of (N, 2) token samples, beside the exact law `truth` (V, V) when known."""
    plt = pyplot()
    panels = [(_histogram(x, vocab_size), title)] + ([(truth.double().numpy(), "exact law")] if truth is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4), squeeze=False)
    for ax, (h, name) in zip(axes[0], panels):
        ax.imshow(h.T, origin="lower", cmap="viridis", interpolation="nearest")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, out)


def plot_token_path(trajectory: torch.Tensor, times: torch.Tensor, out: str | Path, *, vocab_size: int, mask_token: int | None = None, panels: int = 6) -> Path:
    """Histograms of (T, N, 2) token states at `panels` times from t = 0 to 1: noise turning into data
    (on the mask path, the share of points still holding a mask is in each title)."""
    plt = pyplot()
    idx = np.unique(np.linspace(0, len(times) - 1, min(panels, len(times))).round().astype(int))
    fig, axes = plt.subplots(1, len(idx), figsize=(3 * len(idx), 3.2), squeeze=False)
    for ax, i in zip(axes[0], idx):
        state = trajectory[i]
        ax.imshow(_histogram(state, vocab_size, mask_token).T, origin="lower", cmap="viridis", interpolation="nearest")
        note = f", {float((state == mask_token).any(1).double().mean()):.0%} masked" if mask_token is not None else ""
        ax.set_title(f"t = {float(times[i]):.2f}{note}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, out)


def plot_text_samples(samples: list[str], out: str | Path, title: str = "samples") -> Path:
    """Text samples, one block each, as a picture (the model card's)."""
    plt = pyplot()
    lines = sum(s.count("\n") + 2 for s in samples)
    fig = plt.figure(figsize=(9, 0.18 * lines + 0.6))
    fig.text(0.01, 0.99, title + "\n\n" + "\n\n".join(samples), va="top", ha="left", family="monospace", fontsize=8)
    return save_figure(fig, out)
