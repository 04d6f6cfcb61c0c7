"""Each metric against a case with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from flowmatch.metrics import (
    energy_distance,
    gaussian_frechet_distance,
    mmd,
    sliced_wasserstein2,
    wasserstein2,
)


def _gauss(n, mean, sd, seed):
    return np.asarray(mean) + np.asarray(sd) * np.random.default_rng(seed).standard_normal((n, len(mean)))


def test_w2_between_gaussians_matches_the_closed_form():
    # Diagonal Gaussians: W2^2 = |m1 - m2|^2 + |s1 - s2|^2.
    m1, s1, m2, s2 = [0.0, 0.0], [1.0, 0.5], [3.0, -1.0], [0.5, 1.5]
    exact = math.sqrt(np.sum((np.subtract(m1, m2)) ** 2) + np.sum((np.subtract(s1, s2)) ** 2))
    got = wasserstein2(_gauss(1500, m1, s1, 0), _gauss(1500, m2, s2, 1))
    assert got == pytest.approx(exact, rel=0.03)
    assert gaussian_frechet_distance(m1, np.diag(np.square(s1)), m2, np.diag(np.square(s2))) == pytest.approx(exact**2, rel=1e-9)


def test_sliced_w2_is_at_most_w2():
    x, y = _gauss(400, [0, 0, 0], [1, 2, 0.5], 0), _gauss(400, [1, 0, -1], [0.5, 1, 1], 1)
    sw, w = sliced_wasserstein2(x, y), wasserstein2(x, y)
    assert 0 < sw <= w
    # Mean shift along e1 only: every direction theta sees W2^2 = (theta . d)^2, E = |d|^2 / D.
    a = _gauss(200, [0, 0], [1, 1], 2)
    assert sliced_wasserstein2(a, a + [2.0, 0.0], n_projections=2000) == pytest.approx(2.0 / math.sqrt(2), rel=0.04)


def test_mmd_zero_on_itself_positive_on_shift_and_bandwidths():
    x = _gauss(300, [0, 0], [1, 1], 0)
    assert mmd(x, x) == pytest.approx(0.0, abs=1e-6)
    assert mmd(x, x + 1.0) > 0.1
    # Known answer for point masses: MMD^2 = 2 - 2 exp(-d^2 / (2 h^2)) per bandwidth.
    a, b = np.zeros((1, 2)), np.array([[1.0, 0.0]])
    assert mmd(a, b, bandwidths=[1.0]) == pytest.approx(math.sqrt(2 - 2 * math.exp(-0.5)), rel=1e-9)


def test_energy_distance_zero_identical_positive_shifted_and_matches_scipy_1d():
    x = _gauss(300, [0, 0], [1, 1], 0)
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert energy_distance(x, x + [0.5, 0]) > 0.1
    u, v = _gauss(200, [0], [1], 1), _gauss(250, [0.7], [2], 2)
    assert energy_distance(u, v) == pytest.approx(scipy.stats.energy_distance(u[:, 0], v[:, 0]), rel=1e-6)
