"""Conditional flow matching training: the loss, EMA, checkpoints and a resumable loop.

The loss regresses v_theta(x_t, t) on the path's target alpha_t' x1 + sigma_t' x0, which has
the same gradient as regressing on the (unknown) marginal field (Lipman et al., 2023).

Reproducibility: every random draw comes from one torch.Generator whose state, together with
the global torch RNG, the model, the optimiser, the EMA and the LR schedule, is in each
checkpoint, so `resume=True` continues a run bit for bit where its last checkpoint left it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from flowmatch.cfg import drop_labels
from flowmatch.checkpoint import CHECKPOINT, load_checkpoint, save_checkpoint
from flowmatch.config import load_config, save_config
from flowmatch.couplings import Coupling
from flowmatch import distributed
from flowmatch.data import DataSource, GaussianSource, load_data
from flowmatch.errors import FlowmatchError
from flowmatch.models import build_model
from flowmatch.paths import AffinePath, make_path

TIME_SAMPLING = ("uniform", "logit-normal")
PAIRS_FILE = "pairs.pt"
LR_SCHEDULES = ("constant", "cosine", "linear")
PRECISIONS = ("fp32", "bf16")  # bf16 autocast for the forward pass; fp16 would need loss scaling
SAMPLE_DIR = "samples"
GRID_COLS, GRID_GUIDANCE, GRID_STEPS = 8, 2.0, 5  # training-time grids: 8 per class, w=2, NFE 10
CONFIG_FILE = "config.json"
LOG_FILE = "log.jsonl"


@dataclass
class TrainConfig:
    """Everything `flowmatch train` needs; saved as config.json in the run directory."""

    data: str = "moons"
    out: str = "runs/moons"
    source: str = "gaussian"
    path: str = "condot"
    sigma_min: float = 0.0
    coupling: str = "independent"
    sinkhorn_reg: float = 0.05
    # --coupling ot: exact OT within blocks of this many rows of each batch (0: the whole batch).
    # 64 measured as good as the whole 256 batch (W2 within 0.01 on moons and checkerboard) at
    # a fraction of the solver time (docs/benchmarks.md: "Recipe and learning-rate defaults",
    # "OT coupling cost").
    ot_block: int = 64
    time_sampling: str = "logit-normal"
    model: str = "mlp"
    hidden: int = 128
    depth: int = 3
    steps: int = 5000
    batch_size: int = 256
    lr: float = 0.0  # 0: auto_lr(coupling, model), resolved when the config is made
    weight_decay: float = 0.0
    lr_schedule: str = "cosine"
    warmup_steps: int = 0
    grad_clip: float = 0.0
    ema_decay: float = 0.999
    seed: int = 0
    save_every: int = 1000
    log_every: int = 50
    max_minutes: float = 0.0
    device: str = "auto"
    progress: bool = True
    # Few-step generation (reflow.py): train on fixed (x0, x1) pairs from a .pt file instead of
    # drawing and coupling batches; start from another run's weights; put this fraction of each
    # batch at t = 0 (the one-step distillation target x1 - x0 = v(x0, 0)).
    pairs: str = ""
    init_from: str = ""
    distill_fraction: float = 0.0
    prefetch: int = 2
    sampler: str = "midpoint"
    # images (issue 3)
    data_dir: str = "data"
    image_size: int = 0
    download: bool = False
    hflip: bool = False
    channels: int = 32
    channel_mults: str = "1,2,2"
    num_res_blocks: int = 1
    attn_resolutions: str = "auto"
    dropout: float = 0.0
    cond_drop: float = 0.1
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    sample_every: int = 0
    patch_size: int = 1

    def __post_init__(self):
        checks = [
            ("time_sampling", TIME_SAMPLING),
            ("lr_schedule", LR_SCHEDULES),
        ]
        for name, options in checks:
            if getattr(self, name) not in options:
                raise FlowmatchError(f"unknown {name.replace('_', '-')} {getattr(self, name)!r}; choose one of {', '.join(options)}")
        for name in ("steps", "batch_size", "save_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise FlowmatchError(f"{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise FlowmatchError(f"ema-decay must be in [0, 1), got {self.ema_decay}")
        if self.lr == 0:
            self.lr = auto_lr(self.coupling, self.model)
        if self.lr < 0:
            raise FlowmatchError(f"lr must be > 0 (0: automatic), got {self.lr}")
        if not 0.0 <= self.distill_fraction <= 1.0:
            raise FlowmatchError(f"distill-fraction must be in [0, 1], got {self.distill_fraction}")
        self._check_image_options()

    def _check_image_options(self) -> None:  # images (issue 3)
        if self.precision not in PRECISIONS:
            raise FlowmatchError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if not 0.0 <= self.cond_drop < 1.0:
            raise FlowmatchError(f"cond-drop must be in [0, 1), got {self.cond_drop}")
        if not 0.0 <= self.dropout < 1.0:
            raise FlowmatchError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.sample_every < 0:
            raise FlowmatchError(f"sample-every must be >= 0 (0: off), got {self.sample_every}")
        if self.image_size:
            from flowmatch.data.images import check_image_size

            check_image_size(self.image_size)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise FlowmatchError(f"unknown device {name!r}") from None


def sample_time(n: int, kind: str, generator: torch.Generator) -> Tensor:
    """(n,) training times: uniform on [0, 1], or logit-normal sigmoid(N(0, 1))."""
    if kind == "uniform":
        return torch.rand(n, generator=generator)
    return torch.sigmoid(torch.randn(n, generator=generator))


@dataclass(frozen=True)
class TrainBatch:
    """x0: (B, *D) source, x1: (B, *D) coupled data, cond: conditioning tensors, t: (B,) times."""

    x0: Tensor
    x1: Tensor
    cond: dict[str, Tensor]
    t: Tensor


def flow_matching_loss(model: Callable[..., Tensor], path: AffinePath, x0: Tensor, x1: Tensor, t: Tensor, **cond) -> Tensor:
    """Mean over the batch of |v_theta(x_t, t) - (alpha_t' x1 + sigma_t' x0)|^2."""
    ps = path.sample(x0, x1, t)
    return (model(ps.x_t, t, **cond) - ps.velocity).pow(2).flatten(1).sum(1).mean()


class EMA:
    """Exponential moving average of weights: w_ema <- d_n w_ema + (1 - d_n) w.

    d_n = min(decay, (1 + n) / (10 + n)) at update n: a short warm-up, so that the average
    does not keep the random initial weights for thousands of steps.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self._tensors = None  # (model, EMA float tensors, model float tensors, integer buffer pairs)

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = self.decay_at(step)
        if self._tensors is None or self._tensors[0] is not model:
            # built once: walking the module tree every step cost more than the update itself
            params = list(zip(self.model.parameters(), model.parameters()))
            buffers = list(zip(self.model.buffers(), model.buffers()))
            floats = params + [(e, b) for e, b in buffers if e.dtype.is_floating_point]
            others = [(e, b) for e, b in buffers if not e.dtype.is_floating_point]
            self._tensors = (model, [e for e, _ in floats], [p.detach() for _, p in floats], others)
        _, ema_floats, model_floats, others = self._tensors
        torch._foreach_lerp_(ema_floats, model_floats, 1 - d)  # one fused call over all tensors
        for e, b in others:
            e.copy_(b)


def auto_lr(coupling: str, model: str) -> float:
    """The default AdamW learning rate: 3e-3 for an MLP with the minibatch-OT coupling, else 1e-3.

    OT pairs make the regression target nearly deterministic (low-variance gradients): an MLP
    trained with them got nearly the W2 at 3e-3 in 5,000 steps that 1e-3 gets in 20,000; with
    independent pairs 2e-3 and 3e-3 were worse than 1e-3 at 1-8 steps on moons (docs/benchmarks.md).
    Image models keep 1e-3: the higher rate was not measured there.
    """
    return 3e-3 if coupling == "ot" and model == "mlp" else 1e-3


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; the fused kernel when every parameter is float32 on CPU or CUDA (our models are).

    Measured on one CPU core, 3x128 MLP at batch 256, forward + backward + update: 4.2 ms with
    the per-tensor loop, 3.1 ms with foreach, 2.7 ms fused; it changes rounding, not the update rule.
    """
    params = list(model.parameters())
    fused_ok = all(p.device.type in ("cpu", "cuda") and p.dtype == torch.float32 for p in params)
    if fused_ok:
        try:
            return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
        except (RuntimeError, TypeError):  # an older torch or an unsupported device
            pass
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def build_path(config: TrainConfig) -> AffinePath:
    return make_path(config.path, sigma_min=config.sigma_min if config.path == "condot" else None)


def build_source(config: TrainConfig, data: DataSource, path: AffinePath) -> DataSource:
    """The source p0: N(0, sigma_0^2 I) of the path, or a data set (two-sided flows)."""
    if config.source == "gaussian":
        return GaussianSource(data.shape, path.schedule.source_scale)
    source = load_data(config.source)
    if source.shape != data.shape:
        raise FlowmatchError(f"source samples have shape {source.shape} but data samples have shape {data.shape}")
    return source


def data_options(config: TrainConfig) -> dict[str, Any]:
    """Keyword options of `load_data` taken from a config (image data only use them)."""
    return {"data_dir": config.data_dir, "image_size": config.image_size, "download": config.download, "hflip": config.hflip}


def model_options(config: TrainConfig) -> dict[str, Any]:
    """Keyword options of `build_model` taken from a config."""
    keys = ("hidden", "depth", "channels", "channel_mults", "num_res_blocks", "attn_resolutions", "dropout", "patch_size")
    return {k: getattr(config, k) for k in keys}


def lr_factor(config: TrainConfig, step: int) -> float:
    """Multiplier of the base learning rate at a step: linear warm-up, then the schedule."""
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    frac = min(1.0, (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps))
    if config.lr_schedule == "cosine":
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))  # decays to 10% of lr
    if config.lr_schedule == "linear":
        return 1.0 - 0.9 * frac
    return 1.0


@dataclass
class TrainResult:
    """What a finished (or time-limited) run leaves: its directory, last step and loss, seconds spent."""

    run_dir: Path
    step: int
    loss: float
    seconds: float


class Trainer:
    """Owns the model, optimiser, EMA and RNG of one run directory."""

    def __init__(self, config: TrainConfig, data: DataSource | None = None):
        self.config = config
        self.dist = distributed.context()  # DDP: one process unless torchrun started several
        self.dist.check_batch(config.batch_size)
        self.device = self.dist.device(resolve_device(config.device))
        self.data = data if data is not None else load_data(config.data, **data_options(config))
        self.path = build_path(config)
        self.source = build_source(config, self.data, self.path)
        self.coupling = Coupling(config.coupling, config.sinkhorn_reg, config.ot_block)
        torch.manual_seed(config.seed)  # initial weights
        self.model = build_model(config.model, self.data.shape, num_classes=self.data.num_classes, **model_options(config)).to(self.device)
        self.images = len(self.data.shape) == 3
        if config.channels_last and self.images:  # NHWC convolutions are often faster on CPU
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = make_optimizer(self.model, config)
        self.ema = EMA(self.model, config.ema_decay) if config.ema_decay > 0 else None
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0
        self.run_dir = Path(config.out)
        # DDP wraps the model in several processes; torch.compile wraps the same parameters, and
        # checkpoints keep the plain module's names.
        wrapped = self.dist.wrap(self.model, self.device)
        self.forward = torch.compile(wrapped) if config.compile else wrapped
        self.pairs = load_pairs(config.pairs, self.data.shape) if config.pairs else None
        if config.init_from:
            init_weights(self.model, self.ema, config.init_from)
        from flowmatch.pipeline import BatchPipeline

        # Only exact-OT batches have work to hand to another thread; the others are drawn inline.
        prefetch = config.prefetch if self.pairs is None and self.coupling.kind == "ot" else 0
        self.pipeline = BatchPipeline(self.draw_batch, self.generator, prefetch=prefetch, finish=self.couple_batch, workers=max(1, prefetch))

    # -- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else None,
            "optimizer": self.optimizer.state_dict(),
            "generator": self.pipeline.generator_state(),
            "torch_rng": torch.get_rng_state(),
            "config": dataclasses.asdict(self.config),
            "data_shape": list(self.data.shape),
            "num_classes": self.data.num_classes,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pipeline.reset()
        try:
            self.model.load_state_dict(state["model"])
            if self.ema and state.get("ema") is not None:
                self.ema.model.load_state_dict(state["ema"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise FlowmatchError(f"checkpoint does not match this run's config: {str(exc).splitlines()[0]}") from None
        self.step = int(state["step"])

    def save(self) -> None:
        save_checkpoint(self.state_dict(), self.run_dir / CHECKPOINT)

    # -- one step ------------------------------------------------------------------------
    def draw_batch(self) -> TrainBatch:
        """Draw one batch from the run's generator: data, source, coupling, then times.

        The pipeline calls it in draw order; the exact-OT pairing uses no random numbers and is
        left to `couple_batch`, which may run on a worker thread.
        """
        g = self.generator
        b = self.config.batch_size
        if self.pairs is not None:  # fixed couplings: the pairs stay together, never re-paired
            idx = torch.randint(self.pairs[0].shape[0], (b,), generator=g)
            x0, x1, cond = self.pairs[0][idx], self.pairs[1][idx], {}
        else:
            data = self.data.sample(b, g)
            x0 = self.source.sample(b, g).x
            x1, cond = data.x, ({} if data.y is None else {"y": data.y})
            if self.coupling.kind != "ot":
                idx = self.coupling.pair(x0, x1, g)
                x1, cond = x1[idx], {k: v[idx] for k, v in cond.items()}
        t = sample_time(b, self.config.time_sampling, g)
        if self.config.distill_fraction > 0:
            t = torch.where(torch.rand(b, generator=g) < self.config.distill_fraction, torch.zeros_like(t), t)
        if "y" in cond and self.data.num_classes:  # classifier-free guidance: labels -> null class
            cond["y"] = drop_labels(cond["y"], self.config.cond_drop, self.data.num_classes, g)
        return TrainBatch(x0, x1, cond, t)

    def couple_batch(self, batch: TrainBatch) -> TrainBatch:
        """Apply the exact-OT permutation to a drawn batch (a pure function; runs in the pipeline's pool)."""
        if self.pairs is not None or self.coupling.kind != "ot":
            return batch
        idx = self.coupling.pair(batch.x0, batch.x1)
        return TrainBatch(batch.x0, batch.x1[idx], {k: v[idx] for k, v in batch.cond.items()}, batch.t)

    def next_batch(self) -> TrainBatch:
        """The next batch, drawn ahead of time by the pipeline (see pipeline.py)."""
        return self.pipeline.next()

    def train_step(self) -> float:
        batch = self.next_batch()
        x0, x1, cond, t = batch.x0, batch.x1, batch.cond, batch.t
        # DDP: every random draw was made on the global batch (identical on all ranks); keep this rank's slice.
        x0, x1, t, cond = self.dist.shard(x0, x1, t, cond)
        dev = self.device
        cond = {k: v.to(dev) for k, v in cond.items()}
        x0, x1 = self._to_device(x0), self._to_device(x1)
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * lr_factor(self.config, self.step)
        with self._autocast():
            loss = flow_matching_loss(self.forward, self.path, x0, x1, t.to(dev), **cond)
        global_loss = self.dist.average(loss.detach())  # DDP: the global-batch loss, so every rank stops together on NaN
        if not torch.isfinite(global_loss):
            raise FlowmatchError(f"loss became {global_loss.item()} at step {self.step}; lower --lr or check the data")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        if self.ema:
            self.ema.update(self.model, self.step)
        self.step += 1
        return float(global_loss)

    def _to_device(self, x: Tensor) -> Tensor:
        x = x.to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.config.channels_last and x.ndim == 4 else x

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16")

    @torch.no_grad()
    def write_sample_grid(self) -> Path:
        """A grid from the EMA model (one row per class, guidance GRID_GUIDANCE) to samples/."""
        from flowmatch.cfg import GuidedVelocity
        from flowmatch.imagegrid import save_image_grid
        from flowmatch.solvers import solve

        model = self.ema.model if self.ema else self.model
        was_training = model.training
        model.eval()
        g = torch.Generator().manual_seed(self.config.seed)  # own generator: training RNG untouched
        k = self.data.num_classes
        if k:
            y = torch.arange(min(k, GRID_COLS)).repeat_interleave(GRID_COLS)
            velocity = GuidedVelocity(model, y, GRID_GUIDANCE, k)
        else:
            y, velocity = torch.zeros(GRID_COLS * GRID_COLS), model
        x0 = self.source.sample(len(y), g).x.to(self.device)
        x = solve(velocity, x0, method="midpoint", steps=GRID_STEPS).x
        model.train(was_training)
        return save_image_grid(x, self.run_dir / SAMPLE_DIR / f"step_{self.step:07d}.png", ncol=GRID_COLS)

    # -- the loop ------------------------------------------------------------------------
    def run(self, resume: bool = False) -> TrainResult:
        cfg = self.config
        main = self.dist.is_main  # DDP: only rank 0 writes files
        self.run_dir.mkdir(parents=True, exist_ok=True)
        ckpt = self.run_dir / CHECKPOINT
        log_path = self.run_dir / LOG_FILE
        if ckpt.exists():
            if not resume:
                raise FlowmatchError(f"{self.run_dir} already holds a checkpoint; pass --resume to continue it or choose another --out")
            self.load_state_dict(load_checkpoint(ckpt, map_location=self.device))
            if main:
                _truncate_log(log_path, self.step)
        elif main:
            log_path.unlink(missing_ok=True)
        if main:
            save_config(cfg, self.run_dir / CONFIG_FILE)
        self.dist.barrier()  # DDP: all ranks have read the old checkpoint before rank 0 writes a new one

        start = time.perf_counter()
        deadline = start + 60 * cfg.max_minutes if cfg.max_minutes > 0 else math.inf
        bar = _progress(cfg, self.step) if main else None
        loss, window, window_start = math.nan, [], time.perf_counter()
        self.model.train()
        with open(log_path if main else os.devnull, "a") as log, _closing(self.pipeline):
            while self.step < cfg.steps:
                loss = self.train_step()
                window.append(loss)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    now = time.perf_counter()
                    rate = len(window) / max(now - window_start, 1e-9)
                    record = {"step": self.step, "loss": sum(window) / len(window), "lr": self.optimizer.param_groups[0]["lr"], "steps_per_s": round(rate, 2)}
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    if bar is not None:
                        bar.set_postfix(loss=f"{record['loss']:.4f}")
                    window, window_start = [], now
                if bar is not None:
                    bar.update(1)
                if main and (self.step % cfg.save_every == 0 or self.step == cfg.steps):
                    self.save()
                if main and cfg.sample_every and self.images and (self.step % cfg.sample_every == 0 or self.step == cfg.steps):
                    self.write_sample_grid()
                if deadline < math.inf and self.dist.any(time.perf_counter() > deadline, self.device):  # DDP: stop all ranks at once
                    if main:
                        self.save()
                        if cfg.sample_every and self.images:  # a last grid for a time-limited run
                            self.write_sample_grid()
                    break
        if bar is not None:
            bar.close()
        if self.step == 0 and main:  # zero steps requested: still leave a loadable run
            self.save()
        return TrainResult(self.run_dir, self.step, loss, time.perf_counter() - start)


class _closing:
    """Stops the pipeline's worker (rewinding its prefetched batch) when the loop exits."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def __enter__(self):
        return self.pipeline

    def __exit__(self, *exc):
        self.pipeline.close()
        return False


def load_pairs(path: str | Path, shape: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """(x0, x1), each (N, *D), from a file written by reflow.make_pairs."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"pairs file not found: {p}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
        x0, x1 = obj["x0"].float(), obj["x1"].float()
    except Exception as exc:
        raise FlowmatchError(f"cannot read pairs file {p}: {type(exc).__name__}") from None
    if x0.shape != x1.shape or tuple(x0.shape[1:]) != tuple(shape) or len(x0) == 0:
        raise FlowmatchError(f"pairs in {p} have shapes {tuple(x0.shape)} and {tuple(x1.shape)}; expected (N, {', '.join(map(str, shape))})")
    return x0, x1


def init_weights(model: nn.Module, ema: "EMA | None", run_dir: str | Path) -> None:
    """Copy a trained run's EMA (or raw) weights into model and EMA, so training starts from them."""
    state = load_checkpoint(Path(run_dir) / CHECKPOINT)
    weights = state["ema"] if state.get("ema") is not None else state["model"]
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise FlowmatchError(f"--init-from {run_dir}: weights do not fit this model: {str(exc).splitlines()[0]}") from None
    if ema is not None:
        ema.model.load_state_dict(model.state_dict())


def _progress(cfg: TrainConfig, initial: int):
    if not cfg.progress:
        return None
    from tqdm.auto import tqdm

    # disable=None: a bar on a terminal, silence in logs and CI.
    return tqdm(total=cfg.steps, initial=initial, desc="train", unit="step", dynamic_ncols=True, mininterval=0.5, disable=None)


def _truncate_log(log_path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (and a torn last line)."""
    if not log_path.exists():
        return
    kept = []
    for line in log_path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    log_path.write_text("".join(k + "\n" for k in kept))


def train(config: TrainConfig, resume: bool = False, data: DataSource | None = None) -> TrainResult:
    """Train (or resume) the run described by config; returns when it is done.

    Under torchrun (WORLD_SIZE > 1) every process calls this; see flowmatch.distributed.
    """
    with distributed.session(resolve_device(config.device)):  # DDP: a no-op in one process
        return Trainer(config, data).run(resume=resume)


# -- loading a trained run -------------------------------------------------------------------
@dataclass
class Run:
    """A trained run: its config, EMA (or raw) model in eval mode, path, source and data."""

    config: TrainConfig
    model: nn.Module
    path: AffinePath
    source: DataSource
    data: DataSource
    step: int
    device: torch.device


def load_run(run_dir: str | Path, device: str = "auto", use_ema: bool = True) -> Run:
    """Rebuild model, path and source from a run directory's config.json and checkpoint."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FlowmatchError(f"run directory not found: {run_dir}")
    state = load_checkpoint(run_dir / CHECKPOINT)
    config = load_config(TrainConfig, run_dir / CONFIG_FILE)
    dev = resolve_device(device)
    if len(state.get("data_shape", ())) == 3:  # images (issue 3): shape and classes suffice
        from flowmatch.data.images import ImageShape

        data = ImageShape(tuple(state["data_shape"]), int(state.get("num_classes", 0)), config.data)
    else:
        data = load_data(config.data)
    path = build_path(config)
    source = build_source(config, data, path)
    model = build_model(config.model, data.shape, num_classes=data.num_classes, **model_options(config))
    weights = state["ema"] if use_ema and state.get("ema") is not None else state["model"]
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise FlowmatchError(f"checkpoint in {run_dir} does not match its config: {str(exc).splitlines()[0]}") from None
    model.to(dev).eval().requires_grad_(False)
    return Run(config, model, path, source, data, int(state["step"]), dev)


__all__ = ["TrainConfig", "TrainBatch", "Trainer", "TrainResult", "train", "flow_matching_loss", "EMA", "Run", "load_run", "sample_time"]

