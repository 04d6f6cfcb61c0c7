"""Classifier features and the Fréchet distance (against its closed form for diagonal Gaussians)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flowmatch.data import load_data
from flowmatch.errors import FlowmatchError
from flowmatch.metrics_images import classifier_features, classify, frechet_distance, load_or_train_classifier


def _cross(a: float, b: float, shift=(0.0, 0.0)) -> np.ndarray:
    # {+-a e1, +-b e2}: sample mean exactly `shift`, sample covariance exactly diag(2a^2/3, 2b^2/3)
    return np.array([[a, 0], [-a, 0], [0, b], [0, -b]]) + np.array(shift)


def test_frechet_closed_form_for_diagonal_gaussians():
    f1, f2 = _cross(1.0, 2.0), _cross(3.0, 0.5, shift=(1.0, -2.0))
    v1, v2 = np.array([2 / 3, 8 / 3]), np.array([6.0, 0.5 / 3])
    expected = (1.0 + 4.0) + float(((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum())
    assert frechet_distance(f1, f2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(f1, f1) == pytest.approx(0.0, abs=1e-6)
    assert math.isclose(frechet_distance(torch.tensor(f1), torch.tensor(f2)), frechet_distance(f2, f1), rel_tol=1e-6)
    with pytest.raises(FlowmatchError):
        frechet_distance(f1, f2[:, :1])


def test_classifier_learns_digits_and_caches(tmp_path):
    tr, te = load_data("digits"), load_data("digits", split="test")
    (xtr, ytr), (xte, yte) = tr.all(), te.all()
    clf = load_or_train_classifier(tmp_path / "clf.pt", xtr, ytr, 10, epochs=4)
    acc = (classify(xte, clf) == yte).float().mean().item()
    assert acc > 0.8  # chance is 0.1
    again = load_or_train_classifier(tmp_path / "clf.pt", xtr[:0], ytr[:0], 10)  # from the cache
    torch.testing.assert_close(classifier_features(xte[:5], again), classifier_features(xte[:5], clf))
    assert classifier_features(xte, clf).shape == (len(xte), 64)
