"""Frames: what the page draws of one flow at one moment, packed for the wire.

A frame holds the particles' trajectories on the solver's grid (the page interpolates them at the
time slider's t), the target points, the velocity field at t, the current W2, the loss since the
last frame, the side-by-side solver comparison, and the arrays of the chosen teaching view.

Some pictures cost more than a frame may (all four solvers at 64 steps, a log-density grid), so
`Frames` keeps them between frames: while training it refreshes one solver of the comparison
every `COMPARE_EVERY` seconds and the density every `DENSITY_EVERY` seconds; when training is
stopped, a frame brings everything up to date.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from flowmatch.couplings import Coupling
from flowmatch.explore import views
from flowmatch.explore.flow import COMPARE_POINTS, Flow
from flowmatch.explore.protocol import encode_frame
from flowmatch.explore.settings import Settings
from flowmatch.solvers import FIXED_STEP

FIELD_GRID = 21  # arrows per side
DENSITY_GRID = 32  # log-density cells per side (1,024 points: ~60-120 ms with the exact divergence)
DENSITY_EVERY = 1.5  # seconds between log-density refreshes while training
COMPARE_EVERY = 0.5  # seconds between refreshes of one solver of the comparison while training
# Exact W2 costs as much as the rest of a frame (~20-30 ms for 400 x 400 points on a loaded
# core), so while training it is measured at most every W2_EVERY seconds, about every third frame.
W2_EVERY = 0.3
PATH_TIMES = 17  # points along each path of the paths view


def finite(x: float | None) -> float | None:
    """x, or None where it is NaN or infinite (JSON has no NaN)."""
    return x if x is not None and math.isfinite(x) else None


class Frames:
    """Makes the frames of one flow; keeps the pictures that are refreshed less often."""

    def __init__(self, flow: Flow, flow_id: int):
        self.flow, self.flow_id = flow, flow_id
        self.compare: dict[str, dict[str, Any]] = {}  # solver -> {"x", "w2", "nfe", "steps", "step"}
        self.next_solver = 0
        self.compared_at = 0.0
        self.last_w2: tuple[tuple, float, float | None] | None = None  # (what was sampled, when, W2)
        self.lines: dict[str, tuple[torch.Tensor, int]] | None = None  # the coupling view's batch, paired
        self.density: tuple[float, int, float, torch.Tensor] | None = None  # (t, step, when, grid)
        self.seq = 0

    def frame(self, settings: Settings, *, running: bool, loss: tuple[int, float] | None, status: dict[str, Any]) -> bytes:
        """The next frame for `settings`; `loss` is (step, mean loss since the last frame) or None."""
        flow = self.flow
        v = flow.velocity()
        n, t = settings.n, settings.t
        x0 = flow.x0[:n]
        res = views.sample(v, x0, settings.solver, settings.steps, settings.guidance)
        arrays: dict[str, torch.Tensor] = {
            "traj": res.trajectory,
            "times": res.times,
            "ref": flow.ref,
            "field": views.field(v, t, flow.extent, FIELD_GRID),
        }
        header: dict[str, Any] = {
            "type": "frame",
            "seq": self.seq,
            "flow": self.flow_id,
            "step": flow.step,
            "running": running,
            "loss": [loss[0], finite(loss[1])] if loss else None,
            "w2": self._w2(settings, res.x, running),
            "nfe": res.nfe,
            "solver": settings.solver,
            "steps": settings.steps,
            "t": t,
            "extent": flow.extent,
            "field_grid": FIELD_GRID,
            "view": settings.view,
            "status": status,
        }
        self._refresh_compare(settings, all_solvers=not running)
        header["compare"] = {}
        for name, entry in self.compare.items():
            arrays[f"cmp_{name}"] = entry["x"]
            header["compare"][name] = {k: entry[k] for k in ("w2", "nfe", "steps", "step")}
        header["view_info"] = self._view(settings, running, arrays)
        self.seq += 1
        return encode_frame(header, arrays)

    def _w2(self, settings: Settings, x: torch.Tensor, running: bool) -> float | None:
        """W2 of the samples x (the first REF_POINTS) to the target points, remeasured when what
        was sampled changed, or while training every W2_EVERY seconds."""
        now = time.monotonic()
        what = (self.flow.step, settings.solver, settings.steps, settings.guidance, settings.n)
        last = self.last_w2
        if last is None or (last[0] != what and not (running and last[0][1:] == what[1:] and now - last[1] < W2_EVERY)):
            self.last_w2 = last = (what, now, finite(views.w2(x[: len(self.flow.ref)], self.flow.ref)))
        return last[2]

    def _refresh_compare(self, settings: Settings, all_solvers: bool) -> None:
        """Samples and W2 of every fixed-step solver at `settings.steps`: one solver per call while
        training (round robin), all of them when stopped or when the step count has changed."""
        stale = [s for s in FIXED_STEP if self.compare.get(s, {}).get("steps") != settings.steps]
        todo = list(FIXED_STEP) if all_solvers or stale else []
        if not todo:
            if time.monotonic() - self.compared_at < COMPARE_EVERY:
                return
            names = list(FIXED_STEP)
            todo = [names[self.next_solver % len(names)]]
            self.next_solver += 1
        self.compared_at = time.monotonic()
        v, flow = self.flow.velocity(), self.flow
        ref = flow.ref[:COMPARE_POINTS]
        for name in todo:
            entry = self.compare.get(name)
            if entry and entry["steps"] == settings.steps and entry["step"] == flow.step and entry["guidance"] == settings.guidance:
                continue  # nothing has changed since it was made
            res = views.sample(v, flow.x0[:COMPARE_POINTS], name, settings.steps, settings.guidance)
            self.compare[name] = {"x": res.x, "w2": finite(views.w2(res.x, ref)), "nfe": res.nfe, "steps": settings.steps, "step": flow.step, "guidance": settings.guidance}

    def _view(self, settings: Settings, running: bool, arrays: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Adds the arrays of the chosen teaching view; returns its numbers for the header."""
        flow, v = self.flow, self.flow.velocity()
        if settings.view == "density":
            if not flow.gaussian:
                return {"error": "the log-density needs the Gaussian source (source=gaussian): a drawn or built-in source has no density formula"}
            arrays["density"] = self._density(settings.t, running)
            return {"grid": DENSITY_GRID}
        if settings.view == "coupling":
            info = {}
            arrays["pairs_x0"] = flow.view_x0
            if self.lines is None:  # one fixed batch: the same lines for the whole flow
                self.lines = views.coupling_lines(flow.view_x0, flow.view_x1, settings.seed)
            for kind, (partners, crossings) in self.lines.items():
                arrays[f"pairs_{kind}"] = partners
                info[kind] = crossings
            return {"crossings": info}
        if settings.view == "paths":
            # the same batch, paired by the tab's coupling: its conditional paths, and where the
            # learned (marginal) flow takes the same source points
            idx = Coupling(settings.coupling).pair(flow.view_x0, flow.view_x1, torch.Generator().manual_seed(settings.seed))
            times = torch.linspace(0, 1, PATH_TIMES)
            arrays["cond"] = views.conditional_paths(flow.trainer.path, flow.view_x0, flow.view_x1[idx], times)
            arrays["marg"] = views.sample(v, flow.view_x0, "rk4", PATH_TIMES - 1).trajectory
            return {"times": PATH_TIMES}
        if settings.view == "guidance":
            scale = settings.guidance if settings.guidance > 0 else 1.0
            x0, ref = flow.x0[:COMPARE_POINTS], flow.ref[:COMPARE_POINTS]
            plain = views.sample(v, x0, settings.solver, settings.steps).x
            pushed = views.sample(v, x0, settings.solver, settings.steps, scale).x
            arrays["plain"], arrays["guided"] = plain, pushed
            return {"scale": scale, "w2_plain": finite(views.w2(plain, ref)), "w2_guided": finite(views.w2(pushed, ref))}
        return {}

    def _density(self, t: float, running: bool) -> torch.Tensor:
        """log p_t on the grid, recomputed when t or the flow changed (while training, at most
        every DENSITY_EVERY seconds)."""
        now, step = time.monotonic(), self.flow.step
        cached = self.density
        fresh = cached is not None and cached[0] == t and (cached[1] == step or (running and now - cached[2] < DENSITY_EVERY))
        if not fresh:
            grid = views.log_density(self.flow.velocity(), t, self.flow.extent, DENSITY_GRID, self.flow.trainer.path.schedule.source_scale)
            self.density = cached = (t, step, now, grid)
        return cached[3]


__all__ = ["DENSITY_GRID", "FIELD_GRID", "Frames", "finite"]
