"""Classifier files: save, load (tensors only, no code runs) or train-and-cache the image
classifier whose features give the 'fd' metric (see flowmatch.metrics.classifier)."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.metrics import SmallCNN, train_classifier
from flowmatch.runs.checkpoint import safe_load, save_torch


def save_classifier(model: SmallCNN, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_torch({"config": model.config, "state": model.state_dict()}, path)


def load_classifier(path: str | Path) -> SmallCNN:
    try:
        saved = safe_load(path)
        model = SmallCNN(**saved["config"])
        model.load_state_dict(saved["state"])
    except Exception as exc:  # missing, damaged, unsafe or not a classifier file
        raise FlowmatchError(f"cannot load classifier {path}: {type(exc).__name__}") from None
    return model.eval().requires_grad_(False)


def load_or_train_classifier(path: str | Path, images: Tensor, labels: Tensor, num_classes: int, **options) -> SmallCNN:
    """The cached classifier at `path`, or a freshly trained one saved there."""
    if Path(path).is_file():
        return load_classifier(path)
    model = train_classifier(images, labels, num_classes, **options)
    save_classifier(model, path)
    return model


__all__ = ["load_classifier", "load_or_train_classifier", "save_classifier"]
