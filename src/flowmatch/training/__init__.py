"""Training: the composed `TrainConfig`, the `Trainer` (drawing, stepping, state), EMA, the
optimiser and its schedule, the batch pipeline, DDP, and callbacks (progress, wall-time limit).

`fit(config)` trains in memory and returns the model; `flowmatch.runs.train(config)` does the
same in a run directory, with checkpoints, log and resume.
"""

from flowmatch.training.callbacks import BaseCallback, Callback, Deadline, Progress
from flowmatch.training.config import LoopConfig, TrainConfig, resolve_device, uses_bf16
from flowmatch.training.ema import EMA
from flowmatch.training.network import build_network, run_manifold, run_path
from flowmatch.training.objectives import OBJECTIVE_CLASSES, FlowMap, FlowMatching, MeanFlow, Objective, Paired, RiemannianFlowMatching, TrainBatch, Validation, make_objective
from flowmatch.training.optim import OptimConfig, auto_lr
from flowmatch.training.trainer import FixedPairs, Trainer, TrainResult, default_callbacks, fit

__all__ = [
    "BaseCallback",
    "Callback",
    "Deadline",
    "EMA",
    "FixedPairs",
    "FlowMap",
    "FlowMatching",
    "MeanFlow",
    "OBJECTIVE_CLASSES",
    "Objective",
    "Paired",
    "LoopConfig",
    "OptimConfig",
    "Progress",
    "TrainBatch",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "auto_lr",
    "build_network",
    "default_callbacks",
    "fit",
    "make_objective",
    "resolve_device",
    "RiemannianFlowMatching",
    "run_manifold",
    "run_path",
    "Validation",
    "uses_bf16",
]
