"""Distances between sample sets (W2, sliced W2, MMD, energy), the Fréchet distance, and a small
classifier whose features it is computed on for images; on a manifold, W2 and MMD with the geodesic distance."""

from flowmatch.metrics.classifier import SmallCNN, classifier_features, classify, train_classifier
from flowmatch.metrics.distances import energy_distance, mmd, sliced_wasserstein2, wasserstein2
from flowmatch.metrics.frechet import frechet_distance, gaussian_frechet_distance
from flowmatch.metrics.manifold import geodesic_mmd, geodesic_w2

__all__ = [
    "SmallCNN",
    "classifier_features",
    "classify",
    "energy_distance",
    "frechet_distance",
    "gaussian_frechet_distance",
    "geodesic_mmd",
    "geodesic_w2",
    "mmd",
    "sliced_wasserstein2",
    "train_classifier",
    "wasserstein2",
]
