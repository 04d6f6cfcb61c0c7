"""Training loggers besides log.jsonl: TensorBoard and Weights & Biases (`--logger`).

Both are callbacks of the main process, like `JsonLog`: every `--log-every` steps the window's
mean loss, the learning rate and steps/s, and with `--sample-every K` a sample picture every K
steps (an image grid, or a 2D histogram of sampled points). Neither package is needed unless it
is asked for: `tensorboard` (the extra `tensorboard`; written through torch.utils.tensorboard,
event files in RUN/tensorboard/) and `wandb` (the extra `wandb`; files in RUN/wandb/, offline
unless WANDB_MODE says otherwise or WANDB_API_KEY is set, so it works without a network).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from flowmatch.errors import FlowmatchError
from flowmatch.runs.callbacks import WindowLog, sample_picture
from flowmatch.training import TrainConfig, Trainer

TENSORBOARD_DIR = "tensorboard"
SCALARS = {"loss": "train/loss", "lr": "train/lr", "steps_per_s": "train/steps_per_s"}


def check_logger(name: str) -> None:
    """A one-line error, before anything is written, when the logger's package is missing."""
    if name == "tensorboard":
        try:
            import tensorboard  # noqa: F401
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        except ImportError:
            raise FlowmatchError("--logger tensorboard needs the tensorboard package: pip install 'flowmatch[tensorboard]'") from None
    elif name == "wandb":
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise FlowmatchError("--logger wandb needs the wandb package: pip install 'flowmatch[wandb]'") from None


def make_logger(config: TrainConfig, run_dir: Path) -> list[WindowLog]:
    if config.logger == "tensorboard":
        return [TensorBoardLog(run_dir, config.log_every, config.sample_every, config.seed)]
    if config.logger == "wandb":
        return [WandbLog(run_dir, config.log_every, config.sample_every, config.seed)]
    return []


class PictureLog(WindowLog):
    """A WindowLog that also sends a sample picture every `sample_every` steps (0: never)."""

    def __init__(self, every: int, sample_every: int, seed: int):
        super().__init__(every)
        self.sample_every, self.seed = sample_every, seed

    def picture(self, trainer: Trainer, image) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        super().on_step_end(trainer, loss)
        if self.sample_every and (trainer.step % self.sample_every == 0 or trainer.step == trainer.config.steps):
            self.picture(trainer, sample_picture(trainer, self.seed))


class TensorBoardLog(PictureLog):
    """Scalars train/loss, train/lr, train/steps_per_s and the image `samples`, in RUN/tensorboard/.
    A resumed run drops the events written after its checkpoint (purge_step)."""

    def __init__(self, run_dir: Path, every: int, sample_every: int = 0, seed: int = 0):
        super().__init__(every, sample_every, seed)
        self.dir = run_dir / TENSORBOARD_DIR
        self.writer = None

    def open(self, trainer: Trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.dir), purge_step=trainer.step + 1 if trainer.step else None)

    def write(self, trainer: Trainer, record: dict) -> None:
        for key, tag in SCALARS.items():
            self.writer.add_scalar(tag, record[key], record["step"])

    def picture(self, trainer: Trainer, image) -> None:
        self.writer.add_image("samples", image, trainer.step, dataformats="HWC" if image.ndim == 3 else "HW")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


class WandbLog(PictureLog):
    """The same figures to Weights & Biases, files in RUN/wandb/. One wandb run per run
    directory (its id comes from the directory's path), so a resume continues it."""

    def __init__(self, run_dir: Path, every: int, sample_every: int = 0, seed: int = 0):
        super().__init__(every, sample_every, seed)
        self.run_dir = run_dir
        self.run = None

    def open(self, trainer: Trainer) -> None:
        import wandb

        mode = os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")
        run_id = "fm-" + hashlib.sha1(str(self.run_dir.resolve()).encode()).hexdigest()[:12]
        settings = wandb.Settings(silent=True, console="off", save_code=False, disable_git=True)
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "flowmatch"),
            name=self.run_dir.name,
            id=run_id,
            resume="allow",
            dir=str(self.run_dir),
            mode=mode,
            config=dataclasses.asdict(trainer.config),
            settings=settings,
        )

    def write(self, trainer: Trainer, record: dict) -> None:
        self.run.log({tag: record[key] for key, tag in SCALARS.items()}, step=record["step"])

    def picture(self, trainer: Trainer, image) -> None:
        import wandb

        self.run.log({"samples": wandb.Image(image)}, step=trainer.step)

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


__all__ = ["TENSORBOARD_DIR", "TensorBoardLog", "WandbLog", "check_logger", "make_logger"]
