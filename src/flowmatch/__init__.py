"""flowmatch: training, sampling, evaluating and explaining flow-matching generative models.

One time convention throughout: t = 0 is the source, t = 1 is the data, and affine paths are
x_t = alpha_t x1 + sigma_t x0. Velocity networks are called as v(x, t, **cond) with t: (B,).

Two layers (docs/architecture.md): the library (paths, couplings, solvers, loss, guidance,
likelihood, metrics, models, data, interop) works on tensors and callables; the application
(training, runs, recipes, evaluation, viz, cli) builds runs, files and pictures on it. The names
below are loaded on first use, so `import flowmatch.solvers` loads no application module.
"""

import importlib as _importlib

__version__ = "0.2.0"

_EXPORTS = {
    "AffinePath": "flowmatch.paths",
    "CondOTSchedule": "flowmatch.paths",
    "CosineSchedule": "flowmatch.paths",
    "PathSample": "flowmatch.paths",
    "PolynomialSchedule": "flowmatch.paths",
    "VESchedule": "flowmatch.paths",
    "VPSchedule": "flowmatch.paths",
    "make_path": "flowmatch.paths",
    "Coupling": "flowmatch.couplings",
    "FlowmatchError": "flowmatch.errors",
    "SampleResult": "flowmatch.solvers",
    "solve": "flowmatch.solvers",
    "time_grid": "flowmatch.solvers",
    "TrainConfig": "flowmatch.training",
    "fit": "flowmatch.training",
    "Run": "flowmatch.runs",
    "load_run": "flowmatch.runs",
    "sample_run": "flowmatch.runs",
    "train": "flowmatch.runs",
    "Pretrained": "flowmatch.hub",
    "from_pretrained": "flowmatch.hub",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flowmatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*_EXPORTS, "__version__"])
