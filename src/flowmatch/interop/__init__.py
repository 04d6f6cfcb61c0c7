"""Interoperability with diffusers: a `set_timesteps`/`step` scheduler for our flows, and
diffusers' `UNet2DModel` as a velocity network (`DiffusersUNetVelocity`, from flowmatch.models)."""

from flowmatch.interop.scheduler import SPACINGS, FlowMatchEulerScheduler, SchedulerConfig, SchedulerOutput, to_diffusers_timestep

__all__ = ["SPACINGS", "FlowMatchEulerScheduler", "SchedulerConfig", "SchedulerOutput", "to_diffusers_timestep"]
