"""Evaluation of trained runs: metrics against reference data, NFE sweeps, classifier files, FID."""

from flowmatch.evaluation.classifier import load_classifier, load_or_train_classifier, save_classifier
from flowmatch.evaluation.discrete import evaluate_discrete, histogram_tv
from flowmatch.evaluation.fid import INCEPTION_WEIGHTS, inception_fid, inception_weights
from flowmatch.evaluation.floor import W2Figures, can_measure_w2, w2_figures
from flowmatch.evaluation.metrics import METRICS, SAMPLE_METRICS, evaluate_run, parse_list, reference_samples, sample_metrics
from flowmatch.evaluation.sweep import SweepRow, nfe_sweep, write_sweep

__all__ = [
    "evaluate_discrete",
    "histogram_tv",
    "INCEPTION_WEIGHTS",
    "METRICS",
    "SAMPLE_METRICS",
    "SweepRow",
    "W2Figures",
    "can_measure_w2",
    "evaluate_run",
    "inception_fid",
    "inception_weights",
    "load_classifier",
    "load_or_train_classifier",
    "nfe_sweep",
    "parse_list",
    "reference_samples",
    "sample_metrics",
    "save_classifier",
    "w2_figures",
    "write_sweep",
]
