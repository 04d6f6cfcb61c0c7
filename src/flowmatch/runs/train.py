"""`train(config)`: a training run in a run directory, with its config, log, checkpoints and resume.

The directory is the run's: training into one that holds a checkpoint is refused unless
resuming; resuming loads the last checkpoint, drops log lines written after it, and continues
bit for bit.
"""

from __future__ import annotations

from pathlib import Path

from flowmatch.data import DataSource
from flowmatch.errors import FlowmatchError
from flowmatch.runs.callbacks import Checkpoints, JsonLog, SampleGrids
from flowmatch.runs.checkpoint import load_checkpoint, sampling_weights
from flowmatch.runs.files import CHECKPOINT, CONFIG_FILE, LOG_FILE, save_config, truncate_log
from flowmatch.runs.pairs import load_pairs
from flowmatch.training import TrainConfig, Trainer, TrainResult, default_callbacks, distributed, resolve_device


def train(config: TrainConfig, resume: bool = False, data: DataSource | None = None) -> TrainResult:
    """Train (or resume) the run described by config in the directory config.out.

    Under torchrun (WORLD_SIZE > 1) every process calls this; only rank 0 writes files.
    """
    with distributed.session(resolve_device(config.device)):  # DDP: a no-op in one process
        pairs = load_pairs(config.pairs) if config.pairs else None
        init = sampling_weights(load_checkpoint(Path(config.init_from) / CHECKPOINT)) if config.init_from else None
        trainer = Trainer(config, data, pairs=pairs, init_weights=init)
        run_dir = Path(config.out)
        main = trainer.dist.is_main
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt = run_dir / CHECKPOINT
        if ckpt.exists():
            if not resume:
                raise FlowmatchError(f"{run_dir} already holds a checkpoint; pass --resume to continue it or choose another --out")
            trainer.load_state_dict(load_checkpoint(ckpt, map_location=trainer.device))
            if main:
                truncate_log(run_dir / LOG_FILE, trainer.step)
        elif main:
            (run_dir / LOG_FILE).unlink(missing_ok=True)
        if main:
            save_config(config, run_dir / CONFIG_FILE)
        trainer.dist.barrier()  # DDP: all ranks have read the old checkpoint before rank 0 writes a new one
        callbacks = default_callbacks(config, main)
        if main:
            callbacks += [JsonLog(run_dir, config.log_every), Checkpoints(run_dir, config.save_every)]
            if config.sample_every and trainer.images:
                callbacks.append(SampleGrids(run_dir, config.sample_every, config.seed))
        result = trainer.fit(callbacks)
    return TrainResult(result.model, result.step, result.loss, result.seconds, result.stopped, run_dir)


__all__ = ["train"]
