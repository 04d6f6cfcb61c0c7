"""A diffusers-style scheduler for flow-matching sampling: `set_timesteps`, `timesteps`, `step`.

`FlowMatchEulerScheduler` walks the same Euler steps as `flowmatch.solvers.solve(...,
method="euler")` behind the loop that diffusers users know:

    scheduler = FlowMatchEulerScheduler()
    scheduler.set_timesteps(10)
    x = torch.randn(B, *D)                         # t = 0: the source
    for t in scheduler.timesteps:
        v = model(x, t.expand(B))                  # our velocity v(x, t), t: (B,)
        x = scheduler.step(v, t, x).prev_sample    # one Euler step towards t = 1

Conventions, and how they differ from diffusers' `FlowMatchEulerDiscreteScheduler`:

| | flowmatch (this module) | diffusers |
|---|---|---|
| time | t in [0, 1], t = 0 source (noise), t = 1 data | sigma = 1 - t: sigma = 1 noise, sigma = 0 data |
| `timesteps` | t itself, increasing from 0 | sigma * num_train_timesteps, decreasing from 1000 |
| noising (`scale_noise`) | x_t = alpha_t x1 + sigma_t x0 of the path; condot: t x1 + (1 - t) x0 | (1 - sigma) x1 + sigma noise |
| model output | velocity v = dx/dt (condot: x1 - x0) | dx/dsigma = noise - x1 = -v |
| `step` | x + (t_next - t) v | x + (sigma_next - sigma) output, the same update |

So a diffusers-convention network `net(x, timestep)` is driven by this scheduler as
`v = -net(x, (1 - t) * num_train_timesteps)` (`to_diffusers_timestep` does the time part).
"Previous sample" keeps diffusers' name for the state one step further along generation, i.e.
at the next, larger t here.

Stateless stepping: `set_timesteps` fixes the grid; `step` finds its position on the grid from
the `timestep` it is given (no hidden step counter), so a step can be repeated or replayed.

Reference: Esser et al., "Scaling Rectified Flow Transformers" (2024), whose sigma convention
diffusers' scheduler follows.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import atomic_write_text, read_json_object
from flowmatch.options import check_options, option
from flowmatch.paths import SCHEDULES, AffinePath, PathConfig

SCHEDULER_CONFIG = "scheduler_config.json"  # the file name diffusers uses
SPACINGS = ("uniform", "diffusers")


@dataclass(frozen=True)
class SchedulerConfig:
    """What defines a scheduler; saved as JSON by `save_config`.

    spacing: 'uniform' walks t = 0, 1/n, ..., 1 (the grid of `solve(..., steps=n)`);
    'diffusers' reproduces FlowMatchEulerDiscreteScheduler's default grid, sigma from 1 down to
    1/num_train_timesteps in n - 1 equal steps and a last step to sigma = 0.
    shift: diffusers' timestep shift, sigma -> shift sigma / (1 + (shift - 1) sigma) (1: none).
    path and its parameters (None: the schedule's default): the probability path that
    `scale_noise` follows and `init_noise_sigma` starts from (see flowmatch.paths.PathConfig).
    """

    num_train_timesteps: int = option(1000, "diffusers' training timesteps: its timestep is (1 - t) times this", min=1, max=10**6)
    shift: float = option(1.0, "diffusers' timestep shift (1: none)", min=0.0, min_open=True, max=1e4)
    spacing: str = option("uniform", "the grid of set_timesteps", choices=SPACINGS)
    path: str = option("condot", "the affine path that scale_noise follows", choices=SCHEDULES)
    sigma_min: float | None = option(None, "the path's sigma_min (see PathConfig)", min=0.0, max=1e4)
    sigma_max: float | None = option(None, "the path's sigma_max", min=0.0, min_open=True, max=1e4)
    beta_min: float | None = option(None, "the path's beta_min", min=0.0, max=1e4)
    beta_max: float | None = option(None, "the path's beta_max", min=0.0, max=1e4)
    exponent: float | None = option(None, "the path's exponent", min=0.0, min_open=True, max=1e3)

    def __post_init__(self):
        check_options(self)  # types, choices and ranges, each error naming its key
        if self.path == "bridge":  # stochastic: no deterministic scale_noise
            raise FlowmatchError(f"the scheduler takes an affine path ({', '.join(SCHEDULES)}), not the bridge")
        self.path_config()  # a parameter the path does not take is an error here

    def path_config(self) -> PathConfig:
        return PathConfig(self.path, self.sigma_min, self.sigma_max, self.beta_min, self.beta_max, self.exponent)


@dataclass(frozen=True)
class SchedulerOutput:
    """prev_sample: (B, *D) the state at the next time; pred_original_sample: (B, *D) the x1 estimate."""

    prev_sample: Tensor
    pred_original_sample: Tensor


def to_diffusers_timestep(t: Tensor | float, num_train_timesteps: int = 1000) -> Tensor:
    """diffusers timestep of our time t: (1 - t) * num_train_timesteps."""
    return (1 - torch.as_tensor(t)) * num_train_timesteps


class FlowMatchEulerScheduler:
    """Euler sampling of dx/dt = v(x, t) from t = 0 (source) to t = 1 (data), diffusers-style.

    After `set_timesteps(n)`: `timesteps` (n,) float32, the times at which the model is called;
    `times` (n + 1,) float64, the same grid with its end point t = 1.
    """

    order = 1  # model evaluations per step, as diffusers' schedulers declare it

    def __init__(self, config: SchedulerConfig | None = None, **overrides: Any):
        base = config if config is not None else SchedulerConfig()
        self.config = dataclasses.replace(base, **overrides) if overrides else base
        self.path: AffinePath = self.config.path_config().build()
        self.times: Tensor | None = None
        self.timesteps: Tensor | None = None
        self.num_inference_steps: int | None = None

    # -- diffusers' pipeline attributes ---------------------------------------------------
    @property
    def init_noise_sigma(self) -> float:
        """Standard deviation of the source at t = 0 (diffusers scales its initial noise by it)."""
        return self.path.schedule.source_scale

    def scale_model_input(self, sample: Tensor, timestep: Tensor | float | None = None) -> Tensor:
        """Identity: flow models take x_t as it is (kept for diffusers pipeline compatibility)."""
        return sample

    # -- the grid -------------------------------------------------------------------------
    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """Fix the grid of `num_inference_steps` Euler steps (see SchedulerConfig.spacing)."""
        n = int(num_inference_steps)
        if n < 1:
            raise FlowmatchError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
        cfg = self.config
        if cfg.spacing == "uniform":
            sigmas = torch.linspace(1.0, 0.0, n + 1, dtype=torch.float64)
        else:
            # diffusers' last sigma is its shifted 1/num_train_timesteps, and the grid is shifted again.
            last = self._shift(torch.tensor(1.0 / cfg.num_train_timesteps, dtype=torch.float64))
            sigmas = torch.cat([torch.linspace(1.0, float(last), n, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)])
        sigmas = self._shift(sigmas)
        self.times = (1 - sigmas).to(device)
        self.timesteps = self.times[:-1].to(torch.float32)
        self.num_inference_steps = n

    def _shift(self, sigma: Tensor) -> Tensor:
        """shift sigma / (1 + (shift - 1) sigma): the identity for shift = 1."""
        return self.config.shift * sigma / (1 + (self.config.shift - 1) * sigma)

    def index_for_timestep(self, timestep: Tensor | float) -> int:
        """Position of `timestep` (a float, a 0-d tensor or (B,) equal values) on the grid."""
        if self.timesteps is None:
            raise FlowmatchError("call set_timesteps(n) before step()")
        t = torch.as_tensor(timestep, dtype=torch.float64).flatten().cpu()
        if t.numel() == 0 or not bool((t == t[0]).all()):
            raise FlowmatchError("step() takes one timestep for the whole batch")
        gap = (self.timesteps.double().cpu() - t[0]).abs()
        i = int(gap.argmin())
        if float(gap[i]) > 1e-6:
            raise FlowmatchError(f"timestep {float(t[0]):.6g} is not on this scheduler's grid; pass one of scheduler.timesteps")
        return i

    # -- one step and the forward process --------------------------------------------------
    def step(self, model_output: Tensor, timestep: Tensor | float, sample: Tensor, return_dict: bool = True) -> SchedulerOutput | tuple[Tensor]:
        """x_next = x + (t_next - t) v, with v = model_output: (B, *D) at sample x: (B, *D)."""
        i = self.index_for_timestep(timestep)
        t, t_next = float(self.times[i]), float(self.times[i + 1])
        # Like solve(): the step size is a float64 difference of grid times, applied in x's dtype.
        prev = sample + (t_next - t) * model_output.to(sample.dtype)
        if not return_dict:
            return (prev,)
        tb = torch.full((sample.shape[0],), t, dtype=sample.dtype, device=sample.device)
        x1 = self.path.velocity_to_x1(model_output.to(sample.dtype), sample, tb)
        return SchedulerOutput(prev, x1)

    def scale_noise(self, sample: Tensor, timestep: Tensor | float, noise: Tensor) -> Tensor:
        """x_t = alpha_t sample + sigma_t noise for data sample: (B, *D), t: scalar or (B,)."""
        t = torch.as_tensor(timestep, dtype=sample.dtype, device=sample.device).flatten()
        t = t.expand(sample.shape[0]) if t.numel() == 1 else t
        if t.shape[0] != sample.shape[0]:
            raise FlowmatchError(f"scale_noise takes one timestep or one per sample, got {t.shape[0]} for a batch of {sample.shape[0]}")
        return self.path.sample(noise, sample, t).x_t

    # -- config as JSON ---------------------------------------------------------------------
    def save_config(self, save_directory: str | Path) -> Path:
        """Write save_directory/scheduler_config.json; returns its path."""
        out = Path(save_directory)
        out.mkdir(parents=True, exist_ok=True)
        payload = {"_class_name": type(self).__name__, **dataclasses.asdict(self.config)}
        atomic_write_text(out / SCHEDULER_CONFIG, json.dumps(payload, indent=2, sort_keys=True) + "\n")
        return out / SCHEDULER_CONFIG

    @classmethod
    def from_config(cls, config: SchedulerConfig | Mapping[str, Any], **overrides: Any) -> FlowMatchEulerScheduler:
        """A scheduler from a SchedulerConfig or a mapping (keys starting with '_' are ignored)."""
        if isinstance(config, SchedulerConfig):
            return cls(config, **overrides)
        known = {f.name for f in dataclasses.fields(SchedulerConfig)}
        values = {k: v for k, v in dict(config).items() if not str(k).startswith("_")}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FlowmatchError(f"unknown scheduler option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(SchedulerConfig(**{**values, **overrides}))

    @classmethod
    def from_pretrained(cls, directory: str | Path, **overrides: Any) -> FlowMatchEulerScheduler:
        """Load what `save_config` wrote (a directory or the JSON file itself)."""
        p = Path(directory)
        p = p / SCHEDULER_CONFIG if p.is_dir() else p
        raw = read_json_object(p, missing=f"no {SCHEDULER_CONFIG} in {p.parent}", what="scheduler config")
        return cls.from_config(raw, **overrides)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


__all__ = ["FlowMatchEulerScheduler", "SchedulerConfig", "SchedulerOutput", "to_diffusers_timestep", "SPACINGS"]
