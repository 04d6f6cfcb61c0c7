"""The feature classifier of the 'fd' metric: it learns digits (flowmatch.metrics), and its file
is cached and loaded back (flowmatch.evaluation.classifier)."""

from __future__ import annotations

import torch

from flowmatch.data import load_data
from flowmatch.evaluation import load_or_train_classifier
from flowmatch.metrics import classifier_features, classify


def test_classifier_learns_digits_and_caches(tmp_path):
    tr, te = load_data("digits"), load_data("digits", split="test")
    (xtr, ytr), (xte, yte) = tr.all(), te.all()
    clf = load_or_train_classifier(tmp_path / "clf.pt", xtr, ytr, 10, epochs=4)
    acc = (classify(xte, clf) == yte).float().mean().item()
    assert acc > 0.8  # chance is 0.1
    again = load_or_train_classifier(tmp_path / "clf.pt", xtr[:0], ytr[:0], 10)  # from the cache
    torch.testing.assert_close(classifier_features(xte[:5], again), classifier_features(xte[:5], clf))
    assert classifier_features(xte, clf).shape == (len(xte), 64)
