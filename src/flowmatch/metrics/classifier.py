"""A small CNN image classifier and its penultimate-layer features.

`frechet_distance` of these features is a classifier-feature FID: cheap, and for MNIST more
telling than Inception features. Values are comparable only with the same classifier. Saving
and loading a classifier is the application's (`flowmatch.evaluation.classifier`).
"""

from __future__ import annotations

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
    """Fit a SmallCNN on images (N, C, H, W) with labels (N,), returned in eval mode; images are
    floats in [-1, 1] or uint8 pixel values in [0, 255] (an image data set's `images`)."""
    if images.dtype == torch.uint8:
        images = images.float() / 127.5 - 1.0
    if images.ndim != 4 or not images.is_floating_point() or labels.shape != (len(images),):
        raise FlowmatchError(f"train_classifier takes images (N, C, H, W) and labels (N,), got {tuple(images.shape)} {images.dtype} and {tuple(labels.shape)}")
    if float(images.min()) < -1.0 - 1e-6 or float(images.max()) > 1.0 + 1e-6:
        raise FlowmatchError(f"train_classifier takes images in [-1, 1] (or uint8 pixels), got values in [{float(images.min()):g}, {float(images.max()):g}]")
    labels = labels.long()
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


@torch.no_grad()
def classifier_features(x: Tensor, classifier: SmallCNN, batch_size: int = 500) -> Tensor:
    """(N, C, H, W) images in [-1, 1] -> (N, F) penultimate-layer features."""
    return torch.cat([classifier.features(x[i : i + batch_size].float().cpu()) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def classify(x: Tensor, classifier: SmallCNN, batch_size: int = 500) -> Tensor:
    """(N, C, H, W) -> (N,) predicted classes."""
    return torch.cat([classifier(x[i : i + batch_size].float().cpu()).argmax(1) for i in range(0, len(x), batch_size)])


__all__ = ["SmallCNN", "classifier_features", "classify", "train_classifier"]
