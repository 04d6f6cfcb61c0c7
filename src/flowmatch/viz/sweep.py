"""The NFE-sweep figure: one panel per metric, metric against NFE (log-log), one line per solver."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from flowmatch.viz.plots import pyplot, save_figure


def plot_sweep(rows: Sequence, out: str | Path, title: str = "") -> Path:
    """rows: evaluation.SweepRow records (solver, steps, nfe, values)."""
    plt = pyplot()
    names = list(rows[0].values)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        for i, solver in enumerate(dict.fromkeys(r.solver for r in rows if r.steps is not None)):
            pts = [(r.nfe, r.values[name]) for r in rows if r.solver == solver]
            ax.plot(*zip(*pts), marker="o", label=solver, color=f"C{i}")
        for r in rows:
            if r.steps is None:
                ax.scatter([r.nfe], [r.values[name]], marker="*", s=140, color="black", zorder=5, label=f"{r.solver} (adaptive)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("NFE")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, out)


__all__ = ["plot_sweep"]
