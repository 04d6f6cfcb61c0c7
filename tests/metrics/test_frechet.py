"""The Fréchet distance: against its closed form for diagonal Gaussians, and of feature sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.metrics import frechet_distance


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


def _gauss(n, mean, sd, seed):
    return np.asarray(mean) + np.asarray(sd) * np.random.default_rng(seed).standard_normal((n, len(mean)))


def test_frechet_distance_of_features():
    f = _gauss(5000, [0, 1, 2], [1, 1, 1], 0)
    g = _gauss(5000, [1, 1, 2], [1, 1, 1], 1)
    assert frechet_distance(f, f) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(f, g) == pytest.approx(1.0, abs=0.1)
