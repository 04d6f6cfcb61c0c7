"""Run directories: training into one (`train`), its files (config, log, checkpoints, pairs,
grids), and what is done with a trained run (`load_run`, `sample_run`, `run_log_likelihood`;
for discrete runs `sample_tokens` and `run_bound`)."""

from flowmatch.runs.allocator import reuse_freed_memory
from flowmatch.runs.checkpoint import load_checkpoint, save_checkpoint
from flowmatch.runs.discrete import run_bound, sample_tokens
from flowmatch.runs.files import CHECKPOINT, CONFIG_FILE, LOG_FILE, PAIRS_FILE, load_config, read_config_file, save_config
from flowmatch.runs.images import save_image_grid
from flowmatch.runs.likelihood import run_log_likelihood
from flowmatch.runs.recommend import DISCRETE_STEPS, SamplerSettings, card_recommendation, recommended_sampler
from flowmatch.runs.run import Run, build_run, load_run
from flowmatch.runs.sampling import RunSamples, class_labels, sample_run, sample_source
from flowmatch.runs.train import train

__all__ = [
    "CHECKPOINT",
    "DISCRETE_STEPS",
    "CONFIG_FILE",
    "LOG_FILE",
    "PAIRS_FILE",
    "Run",
    "RunSamples",
    "SamplerSettings",
    "build_run",
    "class_labels",
    "card_recommendation",
    "recommended_sampler",
    "load_checkpoint",
    "load_config",
    "load_run",
    "read_config_file",
    "reuse_freed_memory",
    "run_bound",
    "run_log_likelihood",
    "sample_run",
    "sample_source",
    "sample_tokens",
    "save_checkpoint",
    "save_config",
    "save_image_grid",
    "train",
]
