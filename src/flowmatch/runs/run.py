"""A trained run, loaded: its config, sampling model, path, source and data description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from flowmatch.data import MIXTURE_SOURCE, TOKEN_SETS, TOY_SETS, ArrayData, DataShape, DataSource, ManifoldSource, MixtureSource, TokenSource, load_data
from flowmatch.data.points import load_points
from flowmatch.discrete import MixturePath
from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import CURVED_SETS, Manifold
from flowmatch.paths import AffinePath, BridgePath, GeodesicPath, PredictionVelocity
from flowmatch.runs.checkpoint import load_checkpoint, sampling_weights
from flowmatch.runs.files import BEST_CHECKPOINT, CHECKPOINT, CHECKPOINT_CHOICES, CONFIG_FILE, SOURCE_FILE, load_config
from flowmatch.runs.recommend import SamplerSettings
from flowmatch.training import TrainConfig, build_network, resolve_device, run_manifold, run_path
from flowmatch.training.objectives import discrete_path


@dataclass
class Run:
    """A trained run: its config, EMA (or raw) model in eval mode, path, source and data.

    model is the run's velocity v(x, t, **cond): a network trained for another target is wrapped
    in `PredictionVelocity`; a bridge run's is a `VelocityAndScore` (its forward is the velocity).
    A discrete run's (`discrete`) model gives the posterior's logits, its path is a `MixturePath`
    and its data say their vocabulary (`vocab_size`, and `vocabulary` for text).
    """

    config: TrainConfig
    model: nn.Module
    path: AffinePath | BridgePath | GeodesicPath | MixturePath
    source: DataSource
    data: DataSource
    step: int
    device: torch.device
    # an exported model's recommended sampler (its card's), else None: the run's config decides
    recommended: SamplerSettings | None = None

    @property
    def discrete(self) -> bool:
        """Whether this is a discrete flow over tokens."""
        return isinstance(self.path, MixturePath)


def space_of(run: Run) -> Manifold | None:
    """The manifold a loaded run's flow lives on; None in flat space (also for a run-like object without a manifold option)."""
    if getattr(run.config, "manifold", "euclidean") == "euclidean":
        return None
    return run_manifold(run.config, run.data.shape)


def point_options(config: TrainConfig) -> dict[str, Any]:
    """The `load_data` options that read points as a run reads them (on its manifold, in its angle unit)."""
    return {"manifold": config.manifold, "degrees": config.degrees}


def _data(spec: str, shape: tuple[int, ...], num_classes: int, cond_dim: int, options: dict[str, Any]) -> DataSource:
    """What sampling needs of the data: its shape, classes and condition size (stored in the checkpoint). The data
    themselves only where they are at hand: a built-in set, or the training file if it is still
    where it was (for `eval`'s default reference); never needed to sample."""
    if (spec in TOY_SETS and shape == (2,)) or (spec in CURVED_SETS and options["manifold"] == CURVED_SETS[spec][0]):
        return load_data(spec, **options)
    if len(shape) == 1 and Path(spec).is_file():
        try:
            data = load_data(spec, **options)
            if data.shape == shape and data.num_classes == num_classes and data.cond_dim == cond_dim:
                return data
        except FlowmatchError:
            pass
    return DataShape(shape, num_classes, spec, cond_dim)


def _source(config: TrainConfig, data: DataSource, path: AffinePath | BridgePath, points: Tensor | None, where: Path) -> DataSource:
    """The source p0: the path's Gaussian, a built-in set, or the source points kept with the run."""
    if config.source == "gaussian" or config.source in TOY_SETS:
        return config.build_source(data, path)
    if points is not None:
        source = ArrayData(points, name=config.source)
        if source.shape != data.shape:
            raise FlowmatchError(f"{where} holds source points of shape {source.shape}, but the run's data have shape {data.shape}")
        return source
    return config.build_source(data, path)  # a run written before the source was kept: read the file


def check_weights(weights: dict[str, Tensor], make: Callable[[], nn.Module], where: str | Path) -> None:
    """The weights must be, name for name, of the dtype and shape the config's network declares,
    and finite. The network is built on the meta device (no memory) to learn what it declares, so
    a config that declares an absurd network is refused before anything of that size is made."""
    try:
        with torch.device("meta"):
            declared = make().state_dict()
    except FlowmatchError:
        raise
    except Exception as exc:  # sizes torch cannot even describe
        raise FlowmatchError(f"the config in {where} declares a network that cannot be built: {type(exc).__name__}") from None
    missing, unexpected = sorted(set(declared) - set(weights)), sorted(set(weights) - set(declared))
    if missing or unexpected:
        raise FlowmatchError(f"the weights in {where} do not match its config: missing {missing[:3]}, unexpected {unexpected[:3]}")
    for name, want in declared.items():
        got = weights[name]
        if got.dtype != want.dtype or tuple(got.shape) != tuple(want.shape):
            raise FlowmatchError(
                f"the weights in {where} do not match its config: {name} is {str(got.dtype).removeprefix('torch.')} {tuple(got.shape)}, the config declares {str(want.dtype).removeprefix('torch.')} {tuple(want.shape)}"
            )
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise FlowmatchError(f"weight {name} in {where} holds NaN or infinite values")


def build_run(
    config: TrainConfig,
    weights: dict[str, Tensor],
    data_shape: tuple[int, ...],
    num_classes: int,
    *,
    cond_dim: int = 0,
    step: int = 0,
    device: str = "auto",
    source_points: Tensor | None = None,
    source_mixture: dict[str, Tensor] | None = None,
    vocab_size: int = 0,
    vocabulary: str | None = None,
    where: str | Path = "run",
    cls: type[Run] = Run,
    **extra: Any,
) -> Run:
    """A `Run` (or subclass `cls`, given its `extra` fields) from a config, sampling weights, the
    data's shape, class count and condition size and, for a two-sided run from a file, its source points:
    what a run directory and an exported folder both hold; for token data, the vocabulary's size and
    (text) characters."""
    dev = resolve_device(device)
    if config.objective == "discrete":
        if int(vocab_size) < 2:
            raise FlowmatchError(f"{where} is a discrete run without its vocabulary size: it is damaged")
        data = load_data(config.data) if config.data in TOKEN_SETS else DataShape(tuple(data_shape), int(num_classes), config.data, 0, int(vocab_size), vocabulary)
        path = discrete_path(config, int(vocab_size))
        source: DataSource = TokenSource(path, data.shape)
    else:
        data = _data(config.data, tuple(data_shape), int(num_classes), int(cond_dim), point_options(config))
        path = run_path(config, data.shape)
        if isinstance(path, GeodesicPath) and config.source == MIXTURE_SOURCE:  # from the mixture fitted in training
            if source_mixture is None:
                raise FlowmatchError(f"{where} is a flow from a fitted source mixture but holds none: it is damaged")
            source = MixtureSource.from_tensors(source_mixture, str(where))
        elif isinstance(path, GeodesicPath):  # a flow on a curved space, from the manifold's uniform distribution
            source = ManifoldSource(config.manifold, data.shape)
        else:
            source = _source(config, data, path, source_points, Path(where))

    def make() -> torch.nn.Module:
        return build_network(config, data.shape, data.num_classes, cond_dim, int(vocab_size))

    check_weights(weights, make, where)  # before the network is built: its size is the weights'
    model = make()
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise FlowmatchError(f"the weights in {where} do not match its config: {str(exc).splitlines()[0]}") from None
    if config.target != "velocity" and not isinstance(path, MixturePath):
        model = PredictionVelocity(model, path, config.target)
    model.to(dev).eval().requires_grad_(False)
    return cls(config, model, path, source, data, int(step), dev, **extra)


def checkpoint_file(run_dir: Path, checkpoint: str) -> Path:
    """The file of a run's `checkpoint`: last (checkpoint.pt) or best (best.pt, kept by --val-data)."""
    if checkpoint not in CHECKPOINT_CHOICES:
        raise FlowmatchError(f"unknown checkpoint {checkpoint!r}; choose one of {', '.join(CHECKPOINT_CHOICES)}")
    if checkpoint == "best":
        if not (run_dir / BEST_CHECKPOINT).is_file():
            raise FlowmatchError(f"{run_dir} holds no {BEST_CHECKPOINT}: it is kept by a run trained with --val-data")
        return run_dir / BEST_CHECKPOINT
    return run_dir / CHECKPOINT


def load_run(run_dir: str | Path, device: str = "auto", use_ema: bool = True, checkpoint: str = "last") -> Run:
    """Rebuild model, path and source from a run directory's config.json and its last (or best) checkpoint."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FlowmatchError(f"run directory not found: {run_dir}")
    state = load_checkpoint(checkpoint_file(run_dir, checkpoint))
    config = load_config(run_dir / CONFIG_FILE)
    kept = run_dir / SOURCE_FILE
    points = torch.from_numpy(load_points(kept)) if kept.exists() and config.source not in TOY_SETS and config.source != "gaussian" else None
    shape, num_classes = tuple(state["data_shape"]), int(state["num_classes"])
    cond_dim = state.get("cond_dim", 0)  # runs written before conditions existed have none
    if type(cond_dim) is not int or cond_dim < 0:
        raise FlowmatchError(f"checkpoint in {run_dir} is damaged: cond_dim is {cond_dim!r}")
    vocab_size, vocabulary = state.get("vocab_size", 0), state.get("vocabulary")
    if type(vocab_size) is not int or not (vocabulary is None or isinstance(vocabulary, str)):
        raise FlowmatchError(f"checkpoint in {run_dir} is damaged: its vocabulary is {vocab_size!r}")
    return build_run(
        config,
        sampling_weights(state, use_ema),
        shape,
        num_classes,
        cond_dim=cond_dim,
        step=int(state["step"]),
        device=device,
        source_points=points,
        source_mixture=state.get("source"),
        vocab_size=vocab_size,
        vocabulary=vocabulary,
        where=run_dir,
    )


__all__ = ["Run", "build_run", "check_weights", "checkpoint_file", "load_run", "point_options", "run_manifold", "space_of"]
