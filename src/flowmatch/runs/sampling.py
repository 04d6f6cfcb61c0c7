"""Drawing samples from a trained run: source draws, the ODE or SDE solve, and the output record."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch

from flowmatch.data import GaussianSource
from flowmatch.errors import FlowmatchError
from flowmatch.guidance import DensityGuidedVelocity, GuidedVelocity, check_labels, takes_guidance
from flowmatch.paths import BridgePath, SDEFields, bridge_sde, gaussian_path_sde
from flowmatch.runs.likelihood import run_log_likelihood
from flowmatch.runs.recommend import DEFAULT_STEPS, SamplerSettings, recommended_sampler
from flowmatch.runs.run import Run, space_of
from flowmatch.solvers import SampleResult, Velocity, solve, solve_on_manifold, solve_sde

MAX_SAMPLES = 10_000_000  # beyond this a request is a typo, not a request (it would not fit in memory)


@dataclass(frozen=True)
class RunSamples(SampleResult):
    """A solve's result (x: (N, *D), trajectory, times, nfe) with the settings it was drawn with:
    method and steps (None for adaptive solvers), and the guidance rescale applied (None: none)."""

    method: str = ""
    steps: int | None = None
    guidance_rescale: float | None = None


def sample_source(run: Run, n: int, seed: int) -> torch.Tensor:
    """(n, *D) source samples x0 for a run, reproducible from `seed`."""
    g = torch.Generator().manual_seed(seed)
    return run.source.sample(n, g).x.to(run.device)


def run_sde(run: Run, velocity: Velocity, noise_scale: float) -> SDEFields:
    """The SDE with the marginals of a run's ODE: its bridge's, or a Gaussian path's (score from v)."""
    if isinstance(run.path, BridgePath):
        return bridge_sde(run.path, velocity, noise_scale)
    if not isinstance(run.source, GaussianSource):
        raise FlowmatchError(f"SDE sampling needs a Gaussian source (the score follows from the velocity only then) or a bridge run; this run's source is {run.config.source!r}")
    return gaussian_path_sde(run.path, velocity, noise_scale, source_scale=run.source.scale)


def check_conditions(c: torch.Tensor | None, n: int, cond_dim: int) -> torch.Tensor | None:
    """c as float32 (n, cond_dim) for a run conditioned on cond_dim values, else a one-line error."""
    if c is None:
        if cond_dim:
            raise FlowmatchError(f"this run is conditioned on {cond_dim} continuous value(s) per sample: give them (--condition FILE.npy)")
        return None
    if not cond_dim:
        raise FlowmatchError("this run was trained without continuous conditions; sample it without --condition")
    c = torch.as_tensor(c, dtype=torch.float32)
    if c.shape != (n, cond_dim):
        raise FlowmatchError(f"conditions must have shape ({n}, {cond_dim}), one row per sample, got {tuple(c.shape)}")
    if not bool(torch.isfinite(c).all()):
        raise FlowmatchError("conditions hold NaN or inf")
    return c


@torch.no_grad()
def sample_run(
    run: Run,
    n: int,
    *,
    method: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    grid: str = "uniform",
    trajectory: bool = False,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    y: torch.Tensor | None = None,
    c: torch.Tensor | None = None,
    guidance: float = 1.0,
    guidance_interval: tuple[float, float] | None = None,
    guidance_rescale: float | None = None,
    density_guidance: float = 0.0,
    sde: bool = False,
    noise_scale: float = 1.0,
) -> RunSamples:
    """Integrate n source samples to t = 1 through the run's (EMA) velocity network.

    method, steps: the solver and its step count; None takes the run's recommendation
    (`flowmatch.runs.recommend`). Image samples are clipped to the data range [-1, 1].

    y: (n,) class labels for a class-conditional run, sampled with classifier-free guidance
    weight `guidance` (only for t in guidance_interval, when given; rescaled by guidance_rescale,
    default the run's own; see flowmatch.guidance); y=None samples unconditionally (the null class).
    c: (n, K) continuous conditions, required by (and only for) a run trained with them.
    density_guidance = lambda != 0 follows v + lambda ∇x(-div v) instead (see flowmatch.guidance;
    it enables gradients inside the velocity despite this function's no_grad); with the sampler
    left to the run (method and steps None) a guidance that lowered the samples' mean model
    log-density is refused (`check_density_gain`).
    sde=True integrates the SDE with the ODE's marginals by Euler–Maruyama on the `steps` grid
    (`method` is not used), with diffusion scaled by `noise_scale` (see flowmatch.paths.stochastic);
    its noise comes from the same seeded generator, after the source draw.
    """
    # long: the one path every draw takes (sources, guidance, the resolved sampler, checks)
    if getattr(run, "discrete", False):  # (a stand-in run object may not say)
        raise FlowmatchError("this is a discrete run (a flow on tokens): draw its samples with flowmatch.runs.sample_tokens")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= MAX_SAMPLES:
        raise FlowmatchError(f"n must be an integer from 1 to {MAX_SAMPLES:,}, got {n!r}")
    g = torch.Generator().manual_seed(seed)
    x0 = run.source.sample(n, g).x.to(run.device)
    conditions = check_conditions(c, n, run.data.cond_dim)
    cond = {} if conditions is None else {"c": conditions.to(run.device)}
    manifold = space_of(run)
    if manifold is not None:
        if y is not None or sde or density_guidance or grid != "uniform":
            raise FlowmatchError(f"a flow on the {manifold.name} samples by its ODE on the uniform time grid, without class guidance, SDE or density guidance")
        settings = recommended_sampler(run.config, card=run.recommended, method=method, steps=steps)
        res = solve_on_manifold(manifold, run.model, x0, method=settings.method, steps=settings.steps, trajectory=trajectory, cond=cond)
        if not bool(torch.isfinite(res.x).all()):
            raise FlowmatchError("sampling gave NaN or infinite values: the model's weights do not give a usable flow (was it trained with too high a learning rate?)")
        return RunSamples(res.x, res.trajectory, res.times, res.nfe, method=settings.method, steps=settings.steps)
    velocity = run.model
    rescale = None
    if y is not None:
        if len(y) != n:
            raise FlowmatchError(f"got {len(y)} class labels for {n} samples")
        # a student of guided paths has its guidance built in: the run's default rescale skips it
        rescale = (0.0 if takes_guidance(run.model) else run.config.guidance_rescale) if guidance_rescale is None else guidance_rescale
        velocity = GuidedVelocity(run.model, y, guidance, run.data.num_classes, interval=guidance_interval, rescale=rescale)
    elif guidance_interval is not None:
        raise FlowmatchError("a guidance interval applies to class-labelled sampling (give --class)")
    if sde:
        if density_guidance:
            raise FlowmatchError("density guidance follows the ODE: use it without SDE sampling")
        fields = run_sde(run, velocity, noise_scale)
        method, steps = "euler-maruyama", DEFAULT_STEPS if steps is None else steps
        res = solve_sde(fields.drift, fields.diffusion, x0, generator=g, steps=steps, grid=grid, trajectory=trajectory, cond=cond)
    else:
        chosen = method is None and steps is None  # the sampler is ours to vouch for
        settings = recommended_sampler(run.config, card=run.recommended, guided=y is not None and guidance > 1, density_guidance=density_guidance, method=method, steps=steps)
        method, steps = settings.method, settings.steps
        plain = velocity
        if density_guidance:
            velocity = DensityGuidedVelocity(velocity, density_guidance, seed=seed)
        res = solve(velocity, x0, method=method, steps=steps, grid=grid, trajectory=trajectory, atol=atol, rtol=rtol, cond=cond)
        if density_guidance and chosen:
            unguided = solve(plain, x0, method=method, steps=steps, grid=grid, atol=atol, rtol=rtol, cond=cond).x
            check_density_gain(run, unguided, res.x, density_guidance, settings, cond={**cond, **({} if y is None else {"y": y})})
    if not bool(torch.isfinite(res.x).all()):
        raise FlowmatchError("sampling gave NaN or infinite values: the model's weights do not give a usable flow (was it trained with too high a learning rate?)")
    x = res.x.clamp(-1, 1) if len(run.data.shape) == 3 else res.x  # images live in [-1, 1]
    applied = rescale if rescale and guidance not in (0.0, 1.0) else None
    return RunSamples(x, res.trajectory, res.times, res.nfe, method=method, steps=steps, guidance_rescale=applied)


def check_density_gain(run: Run, plain: torch.Tensor, guided: torch.Tensor, scale: float, settings: SamplerSettings, cond: dict) -> None:
    """A one-line error when density guidance lowered the samples' mean model log-density
    (measured on up to 256 points, 32 images, against the unguided samples of the same draws):
    too large a scale for the learned field, or too few steps, makes it scatter the samples."""
    k = min(len(guided), 32 if len(run.data.shape) == 3 else 256)
    sub = {name: v[:k] for name, v in cond.items()}
    logp = [float(run_log_likelihood(run, x[:k], method="rk4", steps=16, cond=sub).log_likelihood.mean()) for x in (plain, guided)]
    if logp[1] < logp[0]:
        raise FlowmatchError(
            f"density guidance {scale:g} lowered the samples' mean model log-density ({logp[0]:.3f} -> {logp[1]:.3f}) with {settings.method} x {settings.steps}: "
            f"use a smaller --density-guidance (such as {scale / 3:.2g}) or more --steps"
        )


def class_labels(spec: str | int | None, n: int, num_classes: int) -> torch.Tensor | None:
    """--class: None (unconditional), an integer class, or 'all' (ceil(n / K) per class, in
    class order, so that a grid with ceil(n / K) columns has one row per class) -> (N,) or None."""
    if spec is None:
        return None
    if str(spec).strip().lower() == "all":
        if num_classes < 1:
            raise FlowmatchError("--class all needs a run trained with class labels")
        per = -(-n // num_classes)
        return torch.arange(num_classes).repeat_interleave(per)
    try:
        c = int(spec)
    except ValueError:
        raise FlowmatchError(f"--class must be an integer class id or 'all', got {spec!r}") from None
    return check_labels(torch.full((n,), c, dtype=torch.long), num_classes)
