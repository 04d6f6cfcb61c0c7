"""`train(config)`: a training run in a run directory, with its config, log, checkpoints and resume.

The directory belongs to one run. Training into one that holds a checkpoint is refused unless
resuming, and resuming is refused when the config changes anything but the options listed in
`MAY_CHANGE_ON_RESUME`; all of this is checked before anything is written. One process writes
at a time (`runs.lock`). Resuming loads the last checkpoint, drops log lines written after it,
and continues bit for bit. Signals stop training with a checkpoint (`runs.signals`).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np

from flowmatch.data import ArrayData, DataSource
from flowmatch.errors import FlowmatchError, NonFiniteError
from flowmatch.fileio import atomic_write
from flowmatch.runs.callbacks import BestCheckpoint, Checkpoints, JsonLog, SampleGrids
from flowmatch.runs.checkpoint import load_checkpoint, sampling_weights
from flowmatch.runs.files import BEST_CHECKPOINT, BEST_RECORD, CHECKPOINT, CONFIG_FILE, LOCK_FILE, LOG_FILE, RUN_FILES, SOURCE_FILE, VALIDATION_LOG, load_config, save_config, truncate_log
from flowmatch.runs.identity import MAY_CHANGE_ON_RESUME, changed_fields, check_identity, file_fingerprints
from flowmatch.runs.lock import run_lock
from flowmatch.runs.loggers import check_logger, make_logger
from flowmatch.runs.outputs import check_output
from flowmatch.runs.pairs import load_pairs
from flowmatch.runs.signals import RunInterrupted, StopOnSignal, catching_signals
from flowmatch.training import TrainConfig, Trainer, TrainResult, default_callbacks, distributed, resolve_device


def check_run_dir(run_dir: Path, config: TrainConfig, resume: bool) -> None:
    """Refuse, before writing anything, a directory that holds another run (or this one, unless resuming)."""
    check_output(run_dir, "--out", directory=True, owner=run_dir)
    has_checkpoint = (run_dir / CHECKPOINT).exists()
    if has_checkpoint and not resume:
        raise FlowmatchError(f"{run_dir} already holds a checkpoint; pass --resume to continue it or choose another --out")
    saved_path = run_dir / CONFIG_FILE
    if saved_path.exists():
        diff = changed_fields(load_config(saved_path), config)
        if diff:
            what = "resume" if has_checkpoint else "train into"
            raise FlowmatchError(f"cannot {what} {run_dir}: it holds a run with other {', '.join(k.replace('_', '-') for k in diff)}; choose another --out")
    elif not has_checkpoint:  # files a run writes, but no config.json saying whose: not ours to replace
        inputs = {Path(config.pairs).resolve()} if config.pairs else set()  # reflow's pairs, made for this run
        foreign = sorted(n for n in RUN_FILES if n != LOCK_FILE and (run_dir / n).exists() and (run_dir / n).resolve() not in inputs)
        if foreign:
            raise FlowmatchError(f"{run_dir} holds {', '.join(foreign)} but no {CONFIG_FILE}: files of another run; choose another --out")


def train(config: TrainConfig, resume: bool = False, data: DataSource | None = None) -> TrainResult:
    """Train (or resume) the run described by config in the directory config.out.

    Under torchrun (WORLD_SIZE > 1) every process calls this; only rank 0 writes files.
    Raises RunInterrupted (after saving a checkpoint) when SIGTERM, SIGHUP or SIGINT arrives.
    """
    run_dir = check_output(config.out, "--out", directory=True, owner=config.out)
    check_logger(config.logger)  # a logger that is not installed: refused before anything is written
    with distributed.session(resolve_device(config.device)):  # DDP: a no-op in one process
        pairs = load_pairs(config.pairs) if config.pairs else None
        init = sampling_weights(load_checkpoint(Path(config.init_from) / CHECKPOINT)) if config.init_from else None
        check_run_dir(run_dir, config, resume)
        trainer = Trainer(config, data, pairs=pairs, init_weights=init)
        main = trainer.dist.is_main
        with run_lock(run_dir) if main else nullcontext():
            ckpt = run_dir / CHECKPOINT
            if ckpt.exists():
                state = load_checkpoint(ckpt, map_location=trainer.device)
                files = check_identity(state, config, run_dir)  # the same run, or refused before any write
                trainer.load_state_dict(state)
                del state
                if main:
                    truncate_log(run_dir / LOG_FILE, trainer.step)
                    truncate_log(run_dir / VALIDATION_LOG, trainer.step)
            else:
                files = file_fingerprints(config)
                if main:  # a run killed before its first checkpoint (config.json says it is this one)
                    for name in (LOG_FILE, VALIDATION_LOG, BEST_CHECKPOINT, BEST_RECORD):
                        (run_dir / name).unlink(missing_ok=True)
            if main:
                save_config(config, run_dir / CONFIG_FILE)
                if isinstance(trainer.source, ArrayData):  # a two-sided run keeps its source points
                    points = trainer.source.points.numpy()
                    atomic_write(run_dir / SOURCE_FILE, lambda fh: np.save(fh, points))
            trainer.dist.barrier()  # DDP: all ranks have read the old checkpoint before rank 0 writes a new one
            stop_on_signal = StopOnSignal()
            checkpoints = Checkpoints(run_dir, config.save_every, extra={"files": files})
            callbacks = [*default_callbacks(config, main), stop_on_signal]
            if main:
                callbacks += [JsonLog(run_dir, config.log_every), *make_logger(config, run_dir), checkpoints]
                if config.val_data:
                    callbacks.append(BestCheckpoint(run_dir, config.val_every, extra={"files": files}))
                if config.sample_every and trainer.images:
                    callbacks.append(SampleGrids(run_dir, config.sample_every, config.seed))
            try:
                with catching_signals(stop_on_signal):
                    result = trainer.fit(callbacks)
            except NonFiniteError as exc:  # stopped; say what is left of the run
                raise NonFiniteError(f"{exc}; {checkpoints.kept()}") from None
    if stop_on_signal.signum:
        raise RunInterrupted(stop_on_signal.signum, result.step, str(run_dir))
    return TrainResult(result.model, result.step, result.loss, result.seconds, result.stopped, run_dir)


__all__ = ["MAY_CHANGE_ON_RESUME", "changed_fields", "check_run_dir", "train"]
