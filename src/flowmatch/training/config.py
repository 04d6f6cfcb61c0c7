"""`TrainConfig`: the options of a training run, the flat union of each package's options.

Every field is declared once, in the package that owns it (`DataConfig` in flowmatch.data,
`PathConfig` in flowmatch.paths, the architectures' options in flowmatch.models, ...);
`TrainConfig` inherits them all, so config files, `config.json` and command-line flags use the
same plain keys. `config.part(PathConfig)` gives back one package's options.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import Tensor

from flowmatch.couplings import Coupling, CouplingConfig
from flowmatch.data import MIXTURE_SOURCE, DataConfig, DataSource, GaussianSource, ManifoldSource, fit_mixture_source, is_image_spec, is_token_spec, load_data
from flowmatch.discrete import DiscreteConfig
from flowmatch.errors import FlowmatchError
from flowmatch.loss import LossConfig
from flowmatch.manifolds import Euclidean
from flowmatch.models import DiffusersUNetConfig, MLPConfig, ModelConfig, SimpleCNNConfig, TokenMLPConfig, TransformerConfig, UNetConfig, architecture_config
from flowmatch.options import check_options, option, section
from flowmatch.paths import AffinePath, BridgePath, GeodesicPath, PathConfig
from flowmatch.solvers import SOLVERS
from flowmatch.training.optim import OptimConfig, auto_lr
from flowmatch.training.presets import load_preset

S = TypeVar("S")

PRECISIONS = ("fp32", "bf16", "auto")  # bf16 autocast for the forward pass; fp16 would need loss scaling
LOGGERS = ("jsonl", "tensorboard", "wandb")  # log.jsonl is always written; the others add to it


@dataclass(frozen=True)
class LoopConfig:
    """The training loop: where, how long, how often to save and log, on which device."""

    out: str = option("runs/moons", "run directory (checkpoint, config.json, log.jsonl)")
    steps: int = option(5000, "training steps", min=1)
    batch_size: int = option(256, "batch size", min=1)
    seed: int = option(0, "seed of every random draw (weights, batches, times)", min=0, max=2**63 - 1)
    save_every: int = option(1000, "checkpoint every K steps (and at the end)", min=1)
    log_every: int = option(50, "a log.jsonl line every K steps", min=1)
    max_minutes: float = option(0.0, "stop at this wall time with a final checkpoint (0: no limit)", min=0.0)
    device: str = option("auto", "auto (cuda if present), cpu or cuda")
    progress: bool = option(True, "a progress bar on stderr when it is a terminal (--no-progress: none)", flag="--no-progress")
    prefetch: int = option(2, "--coupling ot: batches whose OT is solved ahead in worker threads (0: synchronous)", min=0, max=64)
    sample_every: int = option(0, "images: write a sample grid to RUN/samples/ every K steps (0: off); with --logger, a sample picture to the logger too", min=0)
    logger: str = option(
        "jsonl", "also log to: tensorboard (event files in RUN/tensorboard) or wandb (offline unless WANDB_API_KEY or WANDB_MODE says otherwise); log.jsonl is always written", choices=LOGGERS
    )
    sampler: str = option("", "the run's default sampler ('': its objective's own: midpoint; euler for a one-step distilled run; an average-velocity model's own step)", choices=("", *SOLVERS))
    unguided_sampler: str = option(
        "", "the run's default sampler for draws without classifier-free guidance (W <= 1), if not --sampler (class-conditional flow-map students: midpoint)", choices=("", *SOLVERS)
    )
    guidance_rescale: float = option(0.0, "the run's default guidance rescale phi for class-guided sampling (0: plain classifier-free guidance)", min=0.0, max=1.0)
    precision: str = option("fp32", "bf16: autocast the forward pass; auto: bf16 where the device computes it natively (the image default)", choices=PRECISIONS)
    channels_last: bool = option(False, "images: NHWC memory format")
    compile: bool = option(False, "torch.compile the model")
    # few-step generation (flowmatch.recipes): fixed (x0, x1) pairs instead of drawn batches, and
    # the weights of another run to start from
    pairs: str = option("", "train on the fixed couplings of this pairs file (written by reflow)")
    init_from: str = option("", "start from the (EMA) weights of this run directory")
    # model selection: the checkpoint with the best validation figure, kept beside the last one
    val_data: str = option("", "validation DATA (a file, read like --data): keep RUN/best.pt, the checkpoint with the best validation NLL (or loss, where the likelihood is costly)")
    val_every: int = option(500, "--val-data: validate every K steps (and at the end)", min=1)

    def __post_init__(self):
        check_options(self)


SECTIONS = (
    LoopConfig,
    DataConfig,
    PathConfig,
    CouplingConfig,
    ModelConfig,
    MLPConfig,
    UNetConfig,
    SimpleCNNConfig,
    DiffusersUNetConfig,
    TokenMLPConfig,
    TransformerConfig,
    LossConfig,
    DiscreteConfig,
    OptimConfig,
)


def source_defaults(source: str) -> dict[str, Any]:
    """The defaults that differ for the source `source`: a fitted mixture pairs each data point
    with a draw from its own component."""
    return {"coupling": "component"} if source == MIXTURE_SOURCE else {}


# How the transformer trains on sequences: cross-entropy of the masked tokens, each weighted alike,
# rather than the bound itself, which gives each row the same weight however few of its tokens
# are masked (a noisy mean when one or two are); and AdamW at 2e-3. The figure reported stays the
# bound. On Tiny Shakespeare (the options of benchmarks/text.py: width 128, 4 blocks, one core) the
# flow's bound after 4 minutes of training alone was 2.168 nats per character (bound, 1e-3), 2.120
# (cross-entropy, 1e-3) and 2.086 (cross-entropy, 2e-3); in the benchmark's 20 minutes 1.947
# (bound, 1e-3) and 1.874 (cross-entropy, 2e-3) (docs/benchmarks/discrete.md).
SEQUENCE_TRAINING = {"discrete_loss": "ce", "lr": 2e-3}


def data_defaults(data: str, vocab_size: int = 0) -> dict[str, Any]:
    """The defaults that differ for the data `data`: the `images` preset for image data sets; for
    token data (`vocab_size` > 0 makes a .npy/.npz tokens) the discrete objective and a posterior
    network, token-mlp for the 2D discrete set and the transformer for sequences (trained as
    `SEQUENCE_TRAINING` says)."""
    if is_token_spec(str(data), vocab_size):
        if data == "discrete-checkerboard":
            return {"objective": "discrete", "model": "token-mlp"}
        return {"objective": "discrete", "model": "transformer", **SEQUENCE_TRAINING}
    return load_preset("images") if is_image_spec(str(data)) else {}


# The bases are SECTIONS in reverse: a dataclass lays out its bases' fields from the last base
# to the first, so the flat config (config.json, --help) keeps the order of SECTIONS.
@dataclass(frozen=True, init=False)
class TrainConfig(
    OptimConfig,
    DiscreteConfig,
    LossConfig,
    TransformerConfig,
    TokenMLPConfig,
    DiffusersUNetConfig,
    SimpleCNNConfig,
    UNetConfig,
    MLPConfig,
    ModelConfig,
    CouplingConfig,
    PathConfig,
    DataConfig,
    LoopConfig,
):
    """Everything `flowmatch train` needs, saved as config.json (each option is declared, with
    its help and range, in the section class of the package that owns it).

    Options are given by keyword; an option not given takes its default, which for image data
    is the `images` preset's (`data_defaults`). A config records what it was given as its values:
    nothing given is rewritten, and what follows from the options is resolved where it is used
    (the sampler: `flowmatch.runs.recommend`), except an automatic learning rate (lr = 0), which is
    resolved here so that config.json records the rate used.
    """

    def __init__(self, **options: Any) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise FlowmatchError(f"unknown option {unknown[0]!r}")
        data = options.get("data", DataConfig.data)
        defaults = {**data_defaults(data, options.get("vocab_size", DataConfig.vocab_size)), **source_defaults(options.get("source", DataConfig.source))}
        values = {**{f.name: f.default for f in dataclasses.fields(self)}, **defaults, **options}
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        for sec in SECTIONS:  # each package checks its own options (types, choices, ranges)
            section(self, sec)
        self.part(architecture_config(self.model))
        tokens = is_token_spec(str(self.data), self.vocab_size)
        if tokens != (self.objective == "discrete"):
            if tokens:
                raise FlowmatchError(f"token data train a discrete flow (--objective discrete); --objective {self.objective} applies to continuous data")
            raise FlowmatchError(f"--objective discrete trains on token data (discrete-checkerboard, a .txt file, integer tokens with --vocab-size), not {self.data!r}")
        if self.coupling == "sb" and self.path != "bridge":
            raise FlowmatchError("--coupling sb is the Schrödinger bridge's coupling: it needs --path bridge")
        if self.path == "bridge" and self.target != "velocity":
            raise FlowmatchError(f"--path bridge trains a velocity and a score: --target {self.target} does not apply")
        if self.manifold != "euclidean":
            self._check_manifold()
        if self.coupling == "component" and self.source != MIXTURE_SOURCE:
            raise FlowmatchError("--coupling component draws x0 from the component of the source mixture that explains x1: it needs --source mixture")
        if self.lr == 0:  # automatic: resolved now, so config.json records the rate actually used
            object.__setattr__(self, "lr", auto_lr(self.coupling, self.model))

    def _check_manifold(self) -> None:
        """On a manifold: flow matching on velocities along geodesics, from its uniform distribution (or a fitted mixture on the sphere)."""
        if self.path == "bridge" or self.objective != "fm" or self.target != "velocity" or self.source not in ("gaussian", MIXTURE_SOURCE):
            raise FlowmatchError(
                f"--manifold {self.manifold} trains flow matching on velocities along geodesics from the uniform distribution: it takes an affine --path (condot, cosine, polynomial), --objective fm, --target velocity and no --source but mixture (on the sphere)"
            )
        if self.coupling not in ("independent", "ot", "component"):
            raise FlowmatchError(f"--manifold {self.manifold} pairs by --coupling independent or ot (with the geodesic cost), not {self.coupling}")
        GeodesicPath(Euclidean(1), self.build_path().schedule)  # a schedule that does not run from 0 to 1: refused now, not at the first step

    def part(self, cls: type[S]) -> S:
        """The options of one package (e.g. `config.part(PathConfig)`)."""
        return section(self, cls)

    def build_path(self) -> AffinePath | BridgePath:
        return self.part(PathConfig).build()

    def build_coupling(self) -> Coupling:
        """The coupling; `sb` takes its regularisation 2 sigma^2 from the bridge path."""
        path = self.build_path()
        return self.part(CouplingConfig).build(bridge_sigma=path.sigma if isinstance(path, BridgePath) else None)

    def model_options(self) -> dict[str, Any]:
        """The options of this run's architecture (what `build_model` takes)."""
        return dataclasses.asdict(self.part(architecture_config(self.model)))

    def build_source(self, data: DataSource, path: AffinePath | BridgePath, val_points: Tensor | None = None) -> DataSource:
        """The source p0: N(0, sigma_0^2 I) of the path, a data set (two-sided flows), or on a manifold
        its uniform distribution or (`mixture`) a mixture fitted to `data`, its size chosen by
        `val_points`: (N, 3) if given."""
        if self.source == MIXTURE_SOURCE:
            return fit_mixture_source(data, self.source_components, val_points, self.seed)
        if self.manifold != "euclidean":
            return ManifoldSource(self.manifold, data.shape)
        if self.source == "gaussian":
            return GaussianSource(data.shape, path.source_scale)
        source = load_data(self.source)
        if source.shape != data.shape:
            raise FlowmatchError(f"source samples have shape {source.shape} but data samples have shape {data.shape}")
        return source

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some options changed (checked like a new config)."""
        return dataclasses.replace(self, **changes)


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively: a CUDA GPU that says so, or a CPU with the AVX512-BF16
    or AMX-BF16 instructions (elsewhere a CPU emulates bf16, and a U-Net step measured 9x slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        with open("/proc/cpuinfo") as fh:  # Linux; other systems keep fp32
            flags = next((line for line in fh if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def uses_bf16(precision: str, device: torch.device) -> bool:
    """The run's autocast choice: bf16 asked for, or auto on a device with native bf16."""
    return precision == "bf16" or (precision == "auto" and native_bf16(device))


def resolve_device(name: str) -> torch.device:
    """'auto' (cuda when present), 'cpu', 'cuda' or 'cuda:N'; CUDA asked for and absent is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FlowmatchError(f"unknown device {name!r}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FlowmatchError(f"device {name!r} asked for, but CUDA is not available here")
    if device.type not in ("cpu", "cuda"):
        raise FlowmatchError(f"unsupported device {name!r}; use auto, cpu or cuda")
    return device


__all__ = ["LOGGERS", "LoopConfig", "PRECISIONS", "SECTIONS", "TrainConfig", "data_defaults", "resolve_device"]
