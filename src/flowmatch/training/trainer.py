"""The `Trainer`: draws batches, takes optimiser steps, and holds the state of one training run.

Reproducibility: every random draw comes from one torch.Generator whose state, with the global
torch RNG, the model, the optimiser, the EMA and the step, is in `state_dict()`, so a trainer
loaded from it continues bit for bit. Files are not the trainer's business: the run directory,
its checkpoints, log and sample grids are callbacks of `flowmatch.runs`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from flowmatch.couplings import Coupling, GeodesicCoupling
from flowmatch.data import Batch, DataConfig, DataSource, MixtureSource, load_data
from flowmatch.errors import FlowmatchError, NonFiniteError
from flowmatch.guidance import apply_label_drop
from flowmatch.paths import GeodesicPath, PredictionVelocity
from flowmatch.training import distributed
from flowmatch.training.callbacks import Callback, Deadline, Progress
from flowmatch.training.config import TrainConfig, resolve_device, uses_bf16
from flowmatch.training.ema import EMA
from flowmatch.training.network import build_network, run_path
from flowmatch.training.objectives import Paired, TrainBatch, Validation, make_objective
from flowmatch.training.optim import lr_factor, make_optimizer
from flowmatch.training.pipeline import BatchPipeline


@dataclass(frozen=True)
class FixedPairs:
    """Fixed couplings trained on instead of drawn batches (reflow, distillation): x0, x1: (N, *D);
    y: (N,) the label each pair was made with (the null class `num_classes` for an unconditional
    pair), or None for unlabelled pairs. Labels are never dropped again: the null rows are already
    the unconditional teacher's. For flow-map distillation (`--objective flowmap`) the pairs also
    carry the teacher's paths: states and velocities (K+1, N, *D) at the solver's times (K+1,),
    states[0] = x0 and states[-1] = x1. guidance: (N,) the guidance weight each labelled path was
    solved with (0 on null rows), for a student that takes the weight as an input."""

    x0: Tensor
    x1: Tensor
    y: Tensor | None = None
    states: Tensor | None = None
    velocities: Tensor | None = None
    times: Tensor | None = None
    guidance: Tensor | None = None


@dataclass(frozen=True)
class TrainResult:
    """The sampling model (EMA weights when kept, in eval mode), the last step and loss, seconds
    spent, why training stopped early ('' if it ran all its steps) and, for a run directory, its path."""

    model: nn.Module
    step: int
    loss: float
    seconds: float
    stopped: str = ""
    run_dir: Path | None = None


def split_rows(batch: TrainBatch, size: int) -> list[TrainBatch]:
    """The batch cut into consecutive batches of `size` rows (every row-aligned tensor alike)."""
    if len(batch.x0) <= size:
        return [batch]

    def rows(v, lo):
        return v if v is None else {k: c[lo : lo + size] for k, c in v.items()} if isinstance(v, dict) else v[lo : lo + size]

    fields = [f.name for f in dataclasses.fields(batch)]
    return [TrainBatch(**{f: rows(getattr(batch, f), lo) for f in fields}) for lo in range(0, len(batch.x0), size)]


def zero_interval(model: nn.Module, prefix: str = "interval_embed.") -> dict[str, Tensor]:
    """The interval embedding's weights with its output layer zeroed: a velocity model's weights
    plus these make an average-velocity model that starts as the velocity model, u(x, t, h) = v(x, t).
    prefix="guidance_embed.": the same for the guidance-weight input of a guided-path student."""
    state = {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    last = max(k.split(".")[2] for k in state if k.endswith(".weight"))
    return {k: torch.zeros_like(v) if k.split(".")[2] == last else v for k, v in state.items()}


def check_pairs(pairs: FixedPairs, shape: tuple[int, ...], num_classes: int) -> None:
    """A one-line error unless x0 and x1 are (N, *shape) and y, when given, is (N,) labels 0..num_classes."""
    x0, x1, y = pairs.x0, pairs.x1, pairs.y
    if x0.shape != x1.shape or tuple(x0.shape[1:]) != shape or len(x0) == 0:
        raise FlowmatchError(f"pairs have shapes {tuple(x0.shape)} and {tuple(x1.shape)}; expected (N, {', '.join(map(str, shape))})")
    if pairs.states is not None:
        st, ve, ti = pairs.states, pairs.velocities, pairs.times
        if ve is None or ti is None or st.shape != ve.shape or st.shape[1:] != x0.shape or ti.shape != (len(st),) or len(st) < 2:
            raise FlowmatchError(f"pair paths must be states and velocities (K+1, {', '.join(map(str, x0.shape))}) at K+1 >= 2 times")
        if not bool((ti[1:] > ti[:-1]).all()) or float(ti[0]) != 0.0 or float(ti[-1]) != 1.0:
            raise FlowmatchError("pair path times must increase from 0 to 1")
    if y is not None:
        if num_classes < 1:
            raise FlowmatchError("these pairs carry class labels but the data has none")
        if y.shape != (len(x0),) or y.is_floating_point() or int(y.min()) < 0 or int(y.max()) > num_classes:
            raise FlowmatchError(f"pair labels must be (N,) = ({len(x0)},) integers in 0..{num_classes} (the last is the null class)")
    if pairs.guidance is not None and (pairs.guidance.shape != (len(x0),) or not pairs.guidance.is_floating_point() or y is None):
        raise FlowmatchError(f"pair guidance weights must be (N,) = ({len(x0)},) numbers, beside labels")


class Trainer:
    """Owns the model, optimiser, EMA and random state of one training run.

    data: the data p1 (default: loaded from config.data); source: the source p0 (default: the
    path's Gaussian or config.source), e.g. a point cloud drawn in `flowmatch explore`;
    pairs: fixed couplings (`FixedPairs`), trained on instead of drawn batches (reflow);
    init_weights: a state dict the model (and EMA) start from.
    """

    def __init__(
        self,
        config: TrainConfig,
        data: DataSource | None = None,
        *,
        source: DataSource | None = None,
        pairs: FixedPairs | None = None,
        init_weights: dict[str, Tensor] | None = None,
    ):
        # long: one run is assembled here in order (data, path, source, objective, network, optimiser, pipeline)
        self.created = time.perf_counter()  # a time budget counts the set-up (a fitted source) too
        self.config = config
        self.dist = distributed.context()  # DDP: one process unless torchrun started several
        self.dist.check_batch(config.batch_size)
        self.device = self.dist.device(resolve_device(config.device))
        self.data = data if data is not None else load_data(config.data, **config.part(DataConfig).load_options())
        self.path = run_path(config, self.data.shape)
        self.objective = make_objective(config, self.path, pairs, self.data)
        self.vocab_size = int(getattr(self.data, "vocab_size", 0) or 0)  # token data: their vocabulary's size
        # validation text is read with the training text's vocabulary
        vocabulary = {"vocabulary": self.data.vocabulary} if getattr(self.data, "vocabulary", None) is not None else {}
        self.val_data = validation_batch(load_data(config.val_data, **config.part(DataConfig).load_options(), **vocabulary), config.seed) if config.val_data else None
        if self.val_data is not None and tuple(self.val_data.x.shape[1:]) != tuple(self.data.shape):
            raise FlowmatchError(f"--val-data points have shape {tuple(self.val_data.x.shape[1:])} but the data have shape {tuple(self.data.shape)}")
        if source is None:  # a fitted source (--source mixture) sizes itself by the validation points
            source = self.objective.source(self.data) or config.build_source(self.data, self.path, None if self.val_data is None else self.val_data.x)
        self.source = source
        if tuple(self.source.shape) != tuple(self.data.shape):
            raise FlowmatchError(f"source samples have shape {self.source.shape} but data samples have shape {self.data.shape}")
        self.cond_dim = int(getattr(self.data, "cond_dim", 0))  # a user's own data source may not say
        self.coupling: Coupling = config.build_coupling()
        if isinstance(self.path, GeodesicPath) and self.coupling.kind == "ot":  # on a manifold: the geodesic cost
            self.coupling = GeodesicCoupling(self.path.manifold, self.coupling.block)
        self.by_component = config.coupling == "component"
        if self.by_component and not hasattr(self.source, "sample_paired"):
            raise FlowmatchError("--coupling component draws x0 from the component of the source mixture that explains x1: it needs --source mixture")
        torch.manual_seed(config.seed)  # initial weights
        self.model = build_network(config, self.data.shape, self.data.num_classes, self.cond_dim, self.vocab_size).to(self.device)
        self.images = len(self.data.shape) == 3
        self.bf16 = uses_bf16(config.precision, self.device)
        if config.channels_last and self.images:  # NHWC convolutions are often faster on CPU
            self.model = self.model.to(memory_format=torch.channels_last)
        if init_weights is not None:
            try:
                for prefix in ("interval_embed.", "guidance_embed.") if self.objective.needs_paths else ():
                    if getattr(self.model, prefix[:-1], None) is not None and not any(k.startswith(prefix) for k in init_weights):
                        init_weights = {**self.model.state_dict(), **init_weights, **zero_interval(self.model, prefix)}
                self.model.load_state_dict(init_weights)
            except RuntimeError as exc:
                raise FlowmatchError(f"init-from: weights do not fit this model: {str(exc).splitlines()[0]}") from None
        self.optimizer = make_optimizer(self.model, config.lr, config.weight_decay)
        self.ema = EMA(self.model, config.ema_decay) if config.ema_decay > 0 else None
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0
        # the learning-rate schedule's length: config.steps, or what a time budget allows
        # (the Deadline callback plans it from the measured pace under --budget-schedule)
        self.schedule_steps = config.steps
        self.stop_reason = ""
        if pairs is not None:
            check_pairs(pairs, tuple(self.data.shape), self.data.num_classes)
        self.pairs = pairs
        # DDP wraps the model in several processes; torch.compile wraps the same parameters, and
        # state dicts keep the plain module's names.
        wrapped = self.dist.wrap(self.model, self.device)
        self.forward = torch.compile(wrapped) if config.compile else wrapped
        # Only exact-OT batches have work to hand to another thread; the others are drawn inline.
        prefetch = config.prefetch if self.pairs is None and self.coupling.kind == "ot" else 0
        self.pipeline = BatchPipeline(self.draw_batch, self.generator, prefetch=prefetch, finish=self.couple_batch, workers=max(1, prefetch))
        # an OT block larger than the batch: a pool of that many rows is drawn and solved at once,
        # then served as consecutive batches; a checkpoint keeps the generator state from before
        # the pool and how many of its batches were used, so a resumed run draws it again
        self.pool_batches = max(1, -(-self.coupling.block // config.batch_size)) if self.pairs is None and self.coupling.kind == "ot" else 1
        self._served: list[TrainBatch] = []
        self._pool_state, self._pool_skip = None, 0

    # -- state ---------------------------------------------------------------------------
    def sampling_model(self) -> nn.Module:
        """The velocity samples come from: the EMA weights when kept, else the trained model (a
        network trained for another target than the velocity, converted to one)."""
        net = self.ema.model if self.ema else self.model
        return net if self.config.target == "velocity" else PredictionVelocity(net, self.path, self.config.target)

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "schedule_steps": self.schedule_steps,
            "model": self.model.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else None,
            "optimizer": self.optimizer.state_dict(),
            "generator": self._pool_state if self._served else self.pipeline.generator_state(),
            "pool_used": self.pool_batches - len(self._served) if self._served else 0,
            "torch_rng": torch.get_rng_state(),
            # dropout and other in-model draws on a GPU use its own generator: kept for exact resume
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "config": dataclasses.asdict(self.config),
            "data_shape": list(self.data.shape),
            "num_classes": self.data.num_classes,
            "cond_dim": self.cond_dim,
            # token data: the vocabulary's size and, for text, its characters (what decoding needs)
            "vocab_size": self.vocab_size,
            "vocabulary": getattr(self.data, "vocabulary", None),
            # a fitted source (--source mixture): its parameters, which sampling and likelihoods need
            "source": self.source.tensors() if isinstance(self.source, MixtureSource) else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pipeline.reset()
        self._served, self._pool_skip = [], int(state.get("pool_used", 0))
        if isinstance(self.source, MixtureSource) and state.get("source") is not None:  # the source the run was fitted with
            self.source = MixtureSource.from_tensors(state["source"], "the checkpoint")
        try:
            self.model.load_state_dict(state["model"])
            if self.ema and state.get("ema") is not None:
                self.ema.model.load_state_dict(state["ema"])
            self.optimizer.load_state_dict(state["optimizer"])
            # RNG states are CPU byte tensors; a checkpoint loaded onto a GPU brings them there
            self.generator.set_state(state["generator"].cpu())
            torch.set_rng_state(state["torch_rng"].cpu())
            if self.device.type == "cuda" and state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)
            # a budget-planned schedule goes on as planned (until the Deadline plans it again);
            # otherwise the schedule is the config's, so a resume with more --steps gets them
            planned = state.get("schedule_steps") if self.config.budget_schedule else None
            self.schedule_steps = max(1, min(int(planned), self.config.steps)) if planned else self.config.steps
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise FlowmatchError(f"checkpoint does not match this run's config: {str(exc).splitlines()[0]}") from None
        self.step = int(state["step"])

    def validate(self) -> Validation:
        """The objective's validation figure of the sampling model on --val-data (fixed draws: comparable between evaluations)."""
        if self.val_data is None:
            raise FlowmatchError("no validation data: give --val-data FILE")
        model = self.sampling_model()
        was_training = model.training
        model.eval()
        try:
            data = Batch(*(None if v is None else v.to(self.device) for v in (self.val_data.x, self.val_data.y, self.val_data.c)))
            return self.objective.validate(model, data, self.source, torch.Generator().manual_seed(self.config.seed + 1))
        finally:
            model.train(was_training)

    def request_stop(self, reason: str) -> None:
        """Ask the loop to end after the current step (a callback's way to stop training)."""
        self.stop_reason = self.stop_reason or reason

    # -- one step ------------------------------------------------------------------------
    def draw_batch(self) -> TrainBatch:
        """Draw one batch from the run's generator: data, source and coupling here, then the
        objective's own draws (times, intervals, label dropout, noise).

        The pipeline calls it in draw order; the exact-OT pairing uses no random numbers and is
        left to `couple_batch`, which may run on a worker thread. Couplings pair by the true labels
        and conditions (each travels with its x1); label dropout is applied after pairing.
        """
        batch = self.objective.draw(self.draw_pairs(), self.generator, self.data.num_classes, self.pairs)
        return batch if self.pairs is None and self.coupling.kind == "ot" else self._drop_labels(batch)

    def draw_pairs(self) -> Paired:
        """x0 and its coupled x1 (with their conditions): rows of the fixed pairs, or a drawn
        batch of source and data paired by every coupling but exact OT."""
        g = self.generator
        b = self.config.batch_size * self.pool_batches
        if self.pairs is not None:  # fixed couplings: the pairs stay together, never re-paired
            rows = torch.randint(self.pairs.x0.shape[0], (b,), generator=g)
            cond = {} if self.pairs.y is None else {"y": self.pairs.y[rows]}
            if self.pairs.guidance is not None and self.config.distill_guidance > 0:
                cond["guidance"] = self.pairs.guidance[rows]
            return Paired(self.pairs.x0[rows], self.pairs.x1[rows], cond, rows=rows)
        data = self.data.sample(b, g)
        x1, cond = data.x, {k: v for k, v in (("y", data.y), ("c", data.c)) if v is not None}
        if self.by_component:  # x0 from the source mixture's component of each x1: already paired
            return Paired(self.source.sample_paired(x1, g), x1, cond)
        x0 = self.source.sample(b, g).x
        if self.coupling.kind == "ot":
            return Paired(x0, x1, cond)
        pairing = self.coupling.couple(x0, x1, g, **cond)
        return Paired(x0, x1[pairing.index], {k: v[pairing.index] for k, v in cond.items()}, weight=pairing.weight)

    def couple_batch(self, batch: TrainBatch) -> TrainBatch:
        """Apply the exact-OT permutation to a drawn batch (a pure function; runs in the pipeline's pool)."""
        if self.pairs is not None or self.coupling.kind != "ot":
            return batch
        idx = self.coupling.pair(batch.x0, batch.x1, **batch.cond)
        paired = dataclasses.replace(batch, x1=batch.x1[idx], cond={k: v[idx] for k, v in batch.cond.items()})
        return self._drop_labels(paired)

    def _drop_labels(self, batch: TrainBatch) -> TrainBatch:
        """The batch with its label dropout applied (after pairing)."""
        if batch.drop is None:
            return batch
        return dataclasses.replace(batch, cond={**batch.cond, "y": apply_label_drop(batch.cond["y"], batch.drop, self.data.num_classes)}, drop=None)

    def train_step(self) -> float:
        """One optimiser step on the next batch; returns the (global-batch) loss."""
        cfg = self.config
        if not self._served:
            self._pool_state = self.pipeline.generator_state()
            self._served = split_rows(self.pipeline.next(), cfg.batch_size)[self._pool_skip :]
            self._pool_skip = 0
        batch = self._served.pop(0)
        # DDP: every random draw was made on the global batch (identical on all ranks); keep this
        # rank's slice (the intervals ride along with the conditioning tensors to be sliced alike).
        x0, x1, t, cond = self.dist.shard(batch.x0, batch.x1, batch.t, batch.cond if batch.h is None else {**batch.cond, "h": batch.h})
        h = cond.pop("h", None)
        noise, weight = self.dist.rows(batch.noise), self.dist.rows(batch.weight)
        dev = self.device
        on_device = TrainBatch(
            x0=self._to_device(x0),
            x1=self._to_device(x1),
            cond={k: v.to(dev) for k, v in cond.items()},
            t=t.to(dev),
            h=None if h is None else h.to(dev),
            noise=None if noise is None else self._to_device(noise),
            weight=None if weight is None else weight.to(dev),
        )
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * lr_factor(cfg.lr_schedule, cfg.warmup_steps, self.schedule_steps, self.step)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.bf16):
            loss = self.objective.loss(on_device, self.forward, self.model)
        global_loss = self.dist.average(loss.detach())  # DDP: the global-batch loss, so every rank stops together on NaN
        if not torch.isfinite(global_loss):
            raise NonFiniteError(f"loss became {global_loss.item()} at step {self.step}; lower --lr or check the data")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        if self.ema:
            self.ema.update(self.model, self.step)
        self.step += 1
        return float(global_loss)

    def _to_device(self, x: Tensor) -> Tensor:
        x = x.to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.config.channels_last and x.ndim == 4 else x

    # -- the loop ------------------------------------------------------------------------
    def fit(self, callbacks: Sequence[Callback] = ()) -> TrainResult:
        """Step until config.steps (or until a callback asks to stop); callbacks see every step."""
        start = time.perf_counter()
        loss = float("nan")
        self.model.train()
        self.stop_reason = ""
        for cb in callbacks:
            cb.on_fit_start(self)
        try:
            while self.step < self.config.steps and not self.stop_reason:
                loss = self.train_step()
                for cb in callbacks:
                    cb.on_step_end(self, loss)
        finally:
            # rewind the generator past batches drawn ahead, so the saved state reads as if synchronous
            self.pipeline.close()
        result = TrainResult(self.sampling_model(), self.step, loss, time.perf_counter() - start, self.stop_reason)
        for cb in callbacks:
            cb.on_fit_end(self, result)
        return result


# the points drawn from an unbounded validation source (a built-in set)
VALIDATION_DRAWS = 2000


def validation_batch(source: DataSource, seed: int) -> Batch:
    """All points of a finite validation set (with their labels and conditions), or a fixed draw of VALIDATION_DRAWS from a built-in one."""
    windows = getattr(source, "windows", None)
    if windows is not None:  # text: its consecutive windows
        return Batch(windows())
    points = getattr(source, "points", None)
    if points is not None:
        return Batch(points, getattr(source, "labels", None), getattr(source, "conditions", None))
    return source.sample(VALIDATION_DRAWS, torch.Generator().manual_seed(seed + 2))


def default_callbacks(config: TrainConfig, main: bool = True) -> list[Callback]:
    """The wall-time limit, and a progress bar on the process that prints."""
    callbacks: list[Callback] = [Deadline(config.max_minutes, plan_schedule=config.budget_schedule)]
    if main and config.progress:
        callbacks.append(Progress())
    return callbacks


def fit(config: TrainConfig, data: DataSource | None = None, *, callbacks: Sequence[Callback] | None = None, pairs: FixedPairs | None = None) -> TrainResult:
    """Train in memory (no files) and return the result with its sampling model.

    The run-directory version, with checkpoints, log and resume, is `flowmatch.runs.train`.
    """
    trainer = Trainer(config, data, pairs=pairs)
    return trainer.fit(default_callbacks(config) if callbacks is None else callbacks)


__all__ = ["TrainResult", "Trainer", "default_callbacks", "fit"]
