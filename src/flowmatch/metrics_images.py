"""Image-quality metrics: a small CNN classifier, its penultimate-layer features, and the
Fréchet distance between two feature sets (a classifier-feature FID).

    d^2 = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

computed on features of a classifier trained on the data set itself (cheap, and for MNIST more
telling than Inception features). Values are comparable only with the same classifier.

Reference: Heusel et al. (2017), GANs trained by a two time-scale update rule (FID).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from flowmatch.errors import FlowmatchError


class SmallCNN(nn.Module):
    """x: (B, C, H, W) in [-1, 1] -> logits (B, num_classes); `features` is the penultimate layer."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, feature_dim: int = 64):
        super().__init__()
        self.config = {"in_channels": in_channels, "num_classes": num_classes, "feature_dim": feature_dim}
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(64 * 16, feature_dim), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def train_classifier(images: Tensor, labels: Tensor, num_classes: int, epochs: int = 6, batch_size: int = 128, lr: float = 2e-3, seed: int = 0) -> SmallCNN:
    """Fit a SmallCNN on images (N, C, H, W) in [-1, 1] with labels (N,); returns it in eval mode."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SmallCNN(images.shape[1], num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(images)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval().requires_grad_(False)


def save_classifier(model: SmallCNN, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": model.config, "state": model.state_dict()}, path)


def load_classifier(path: str | Path) -> SmallCNN:
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = SmallCNN(**saved["config"])
        model.load_state_dict(saved["state"])
    except (OSError, KeyError, RuntimeError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:  # missing or not a classifier file
        raise FlowmatchError(f"cannot load classifier {path}: {type(exc).__name__}") from None
    return model.eval().requires_grad_(False)


def load_or_train_classifier(path: str | Path, images: Tensor, labels: Tensor, num_classes: int, **options) -> SmallCNN:
    """The cached classifier at `path`, or a freshly trained one saved there."""
    if Path(path).is_file():
        return load_classifier(path)
    model = train_classifier(images, labels, num_classes, **options)
    save_classifier(model, path)
    return model


@torch.no_grad()
def classifier_features(x: Tensor, classifier: SmallCNN, batch_size: int = 500) -> Tensor:
    """(N, C, H, W) images in [-1, 1] -> (N, F) penultimate-layer features."""
    return torch.cat([classifier.features(x[i : i + batch_size].float().cpu()) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def classify(x: Tensor, classifier: SmallCNN, batch_size: int = 500) -> Tensor:
    """(N, C, H, W) -> (N,) predicted classes."""
    return torch.cat([classifier(x[i : i + batch_size].float().cpu()).argmax(1) for i in range(0, len(x), batch_size)])


def frechet_distance(f1: Tensor | np.ndarray, f2: Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N1, F) and (N2, F)."""
    from scipy import linalg

    a = np.asarray(f1.cpu() if isinstance(f1, Tensor) else f1, dtype=np.float64)
    b = np.asarray(f2.cpu() if isinstance(f2, Tensor) else f2, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise FlowmatchError(f"frechet_distance needs two (N, F) feature sets with N >= 2, got {a.shape} and {b.shape}")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.isfinite(covmean).all():  # near-singular products: regularise, as is customary
        eps = 1e-6 * np.eye(len(s1))
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


__all__ = ["SmallCNN", "train_classifier", "load_or_train_classifier", "save_classifier", "load_classifier", "classifier_features", "classify", "frechet_distance"]
