"""The diffusers-style scheduler under its first import path (it lives in flowmatch.interop)."""

from flowmatch.interop.scheduler import SPACINGS, FlowMatchEulerScheduler, SchedulerConfig, SchedulerOutput, to_diffusers_timestep

__all__ = ["SPACINGS", "FlowMatchEulerScheduler", "SchedulerConfig", "SchedulerOutput", "to_diffusers_timestep"]
