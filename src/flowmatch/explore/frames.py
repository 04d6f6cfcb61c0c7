"""Frames: what the page draws of one flow at one moment, packed for the wire.

A frame holds the particles' trajectories on the solver's grid (the page interpolates them at the
time slider's t), the target points, the velocity field at t, the current W2, the loss since the
last frame, the side-by-side solver comparison, and the arrays of the chosen teaching view. An
array the page already has (the same tensor, kept) is not sent again: the page keeps every
array of a flow (header "flow") until a newer one of the same name comes.

A frame should take a small part of the ~0.1 s between frames, but some pictures cost more
than that (64 RK4 steps, a log-density grid, density guidance's double backward pass), so each
picture is `Kept` between frames: when training is stopped, a frame brings every picture up to
date; while training, a picture is remade once it is older than its own interval and than
its cost divided by its share of the time. At the default settings the particles are new in
every frame; at costly ones the frames keep coming (step, loss, field) and the costly pictures
follow as fast as their share allows.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import torch

from flowmatch.couplings import Coupling
from flowmatch.explore import views
from flowmatch.explore.flow import COMPARE_POINTS, Flow
from flowmatch.explore.protocol import encode_frame
from flowmatch.explore.settings import Settings
from flowmatch.solvers import VELOCITY_STEPPERS

FIELD_GRID = 21  # arrows per side
DENSITY_GRID = 32  # log-density cells per side (1,024 points: ~60-120 ms with the exact divergence)
PATH_TIMES = 17  # points along each path of the paths view
# While training, each picture is remade at most every so many seconds, and takes at most its
# share of the time. Exact W2 costs as much as the rest of a frame (~20-30 ms for 400 x 400
# points on a loaded core), so it is remeasured about every third frame; one solver of the
# comparison is remade every COMPARE_EVERY, so all four every 2 s. The shares add up to about
# half the time: training and the cheap part of each frame keep the rest.
W2_EVERY = 0.3
COMPARE_EVERY, COMPARE_SHARE = 0.5, 0.1
DENSITY_EVERY = 1.5
VIEW_EVERY, VIEW_SHARE = 0.5, 0.15
SAMPLES_SHARE = 0.3


def finite(x: float | None) -> float | None:
    """x, or None where it is NaN or infinite (JSON has no NaN)."""
    return x if x is not None and math.isfinite(x) else None


class Kept:
    """One picture kept between frames: its value, the key it was made for, when, at what cost.

    A key is (the flow's step, the settings the picture depends on). `get` remakes the picture
    when nothing is kept or the settings changed; when only the step changed, at once if training
    is stopped, and while training once the picture is `interval` seconds old and older than its
    cost / `share`, so that a costly picture takes at most `share` of the time.
    """

    def __init__(self, interval: float, share: float = 0.25):
        self.interval, self.share = interval, share
        self.key: tuple | None = None
        self.value: Any = None
        self.made, self.cost = 0.0, 0.0

    def get(self, key: tuple, running: bool, make: Callable[[], Any]) -> Any:
        now = time.monotonic()
        if self.key is not None and (self.key == key or (running and self.key[1:] == key[1:] and now - self.made < max(self.interval, self.cost / self.share))):
            return self.value
        self.value = make()
        self.key, self.made, self.cost = key, now, time.monotonic() - now
        return self.value


class Frames:
    """Makes the frames of one flow; keeps the pictures that are refreshed less often."""

    def __init__(self, flow: Flow, flow_id: int):
        self.flow, self.flow_id = flow, flow_id
        self.samples = Kept(0.0, SAMPLES_SHARE)  # the particles: every frame, unless they cost too much
        self.w2 = Kept(W2_EVERY)
        self.compare: dict[str, dict[str, Any]] = {}  # solver -> {"x", "w2", "nfe", "steps", "step", "guidance"}
        self.turns, self.turn_at, self.turn_cost = 0, 0.0, 0.0  # the comparison's solver in turn
        self.density = Kept(DENSITY_EVERY, VIEW_SHARE)
        self.guidance = Kept(VIEW_EVERY, VIEW_SHARE)
        self.marginal = Kept(VIEW_EVERY, VIEW_SHARE)
        self.lines: dict[str, tuple[torch.Tensor, int]] | None = None  # the coupling view's batch, paired
        self.cond: torch.Tensor | None = None  # the paths view's conditional paths
        self.seq = 0
        self.sent: dict[str, torch.Tensor] = {}  # the arrays the page has, by name

    def frame(self, settings: Settings, *, running: bool, loss: tuple[int, float] | None, status: dict[str, Any]) -> bytes:
        """The next frame for `settings`; `loss` is (step, mean loss since the last frame) or None."""
        flow = self.flow
        v = flow.velocity()
        n, t = settings.n, settings.t
        key = (flow.step, settings.solver, settings.steps, settings.guidance, n)
        res = self.samples.get(key, running, lambda: views.sample(v, flow.x0[:n], settings.solver, settings.steps, settings.guidance))
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
            "sample_step": self.samples.key[0],  # the step the particles are from
            "running": running,
            "loss": [loss[0], finite(loss[1])] if loss else None,
            "w2": self.w2.get(self.samples.key, running, lambda: finite(views.w2(res.x[: len(flow.ref)], flow.ref))),
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
        # A kept picture is the same tensor as last time: the page still has it, so it is sent
        # once (a 64-step trajectory is 300 KB; the field, new in every frame, 3 KB).
        fresh = {name: a for name, a in arrays.items() if self.sent.get(name) is not a}
        self.sent.update(fresh)
        return encode_frame(header, fresh)

    def _refresh_compare(self, settings: Settings, all_solvers: bool) -> None:
        """Samples and W2 of every fixed-step solver at `settings.steps`: all of them when stopped
        or when the settings changed; while training one solver at a time, in turn, every
        COMPARE_EVERY seconds, or less often when one costs more than COMPARE_SHARE of that."""
        names = list(VELOCITY_STEPPERS)
        changed = [s for s in names if (self.compare.get(s, {}).get("steps"), self.compare.get(s, {}).get("guidance")) != (settings.steps, settings.guidance)]
        start = time.monotonic()
        if all_solvers or changed:
            todo = names
        elif start - self.turn_at >= max(COMPARE_EVERY, self.turn_cost / COMPARE_SHARE):
            self.turns += 1
            todo = [names[self.turns % len(names)]]
        else:
            return
        v, flow = self.flow.velocity(), self.flow
        ref = flow.ref[:COMPARE_POINTS]
        for name in todo:
            entry = self.compare.get(name)
            if entry and (entry["steps"], entry["step"], entry["guidance"]) == (settings.steps, flow.step, settings.guidance):
                continue  # nothing has changed since it was made
            res = views.sample(v, flow.x0[:COMPARE_POINTS], name, settings.steps, settings.guidance)
            self.compare[name] = {"x": res.x, "w2": finite(views.w2(res.x, ref)), "nfe": res.nfe, "steps": settings.steps, "step": flow.step, "guidance": settings.guidance}
        if len(todo) == 1:
            self.turn_at, self.turn_cost = start, time.monotonic() - start

    def _view(self, settings: Settings, running: bool, arrays: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Adds the arrays of the chosen teaching view; returns its numbers for the header."""
        flow, v = self.flow, self.flow.velocity()
        if settings.view == "density":
            if not flow.gaussian:
                return {"error": "the log-density needs the Gaussian source (source=gaussian): a drawn or built-in source has no density formula"}
            source_scale = flow.trainer.path.schedule.source_scale
            arrays["density"] = self.density.get((flow.step, settings.t), running, lambda: views.log_density(v, settings.t, flow.extent, DENSITY_GRID, source_scale))
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
            if self.cond is None:  # the coupling and the path are the flow's: made once
                idx = Coupling(settings.coupling).pair(flow.view_x0, flow.view_x1, torch.Generator().manual_seed(settings.seed))
                self.cond = views.conditional_paths(flow.trainer.path, flow.view_x0, flow.view_x1[idx], torch.linspace(0, 1, PATH_TIMES))
            arrays["cond"] = self.cond
            arrays["marg"] = self.marginal.get((flow.step,), running, lambda: views.sample(v, flow.view_x0, "rk4", PATH_TIMES - 1).trajectory)
            return {"times": PATH_TIMES}
        if settings.view == "guidance":
            scale = settings.guidance if settings.guidance > 0 else 1.0
            x0, ref = flow.x0[:COMPARE_POINTS], flow.ref[:COMPARE_POINTS]

            def both():
                plain = views.sample(v, x0, settings.solver, settings.steps).x
                pushed = views.sample(v, x0, settings.solver, settings.steps, scale).x
                return plain, pushed, {"scale": scale, "w2_plain": finite(views.w2(plain, ref)), "w2_guided": finite(views.w2(pushed, ref))}

            arrays["plain"], arrays["guided"], info = self.guidance.get((flow.step, settings.solver, settings.steps, scale), running, both)
            return info
        return {}


__all__ = ["DENSITY_GRID", "FIELD_GRID", "Frames", "Kept", "finite"]
