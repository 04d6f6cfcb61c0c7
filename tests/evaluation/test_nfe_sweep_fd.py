"""NFE sweep of the Fréchet distance in a classifier's feature space (the MNIST table),
end to end on the embedded `digits` set: tiny run, tiny classifier, `flowmatch eval --classifier`."""

from __future__ import annotations

import csv
import math

import pytest

from flowmatch.data import load_data
from flowmatch.evaluation import load_classifier, nfe_sweep, reference_samples, sample_metrics, save_classifier
from flowmatch.metrics import classifier_features, train_classifier
from flowmatch.runs import load_run
from helpers import cli

TINY = ["--model", "simple-cnn", "--channels", "8", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def run_and_classifier(tmp_path_factory):
    root = tmp_path_factory.mktemp("fdsweep")
    r = cli("train", "--data", "digits", "--out", str(root / "run"), "--steps", "3", "--sample-every", "0", *TINY)
    assert r.returncode == 0, r.stderr
    x, y = load_data("digits").all()
    save_classifier(train_classifier(x[:200], y[:200], 10, epochs=1, batch_size=64), root / "clf.pt")
    return root / "run", root / "clf.pt"


def test_cli_sweep_has_finite_fd_per_solver_and_nfe(run_and_classifier, tmp_path):
    run, clf = run_and_classifier
    r = cli("eval", str(run), "--sweep-nfe", "1,2", "--solvers", "euler,midpoint", "--adaptive", "none", "--metrics", "fd", "--n", "40", "--classifier", str(clf), "--out", str(tmp_path / "sw"))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "sw" / "sweep.csv")))
    assert {(row["solver"], row["nfe"]) for row in rows} == {("euler", "1"), ("euler", "2"), ("midpoint", "2")}
    for row in rows:
        assert math.isfinite(float(row["fd"])) and float(row["fd"]) > 0
    assert (tmp_path / "sw" / "sweep.png").is_file()


def test_fd_of_the_test_split_against_itself_is_zero(run_and_classifier):
    run_dir, clf_path = run_and_classifier
    run, clf = load_run(run_dir), load_classifier(clf_path)
    ref = reference_samples(run, None, 60, seed=1)
    test_x, _ = load_data("digits", split="test").all()
    assert ref.shape[0] == 60 and ref.shape[1:] == test_x.shape[1:]
    assert (ref.flatten(1)[:, None] == test_x.flatten(1)[None]).all(-1).any(1).all()  # test-split images
    # Identical feature sets: equal means and covariances, so FD = 0 in closed form.
    assert sample_metrics(ref, ref, ["fd"], lambda x: classifier_features(x, clf))["fd"] == pytest.approx(0.0, abs=1e-6)
    rows = nfe_sweep(run, ref, nfes=(2,), solvers=("euler",), metrics=("fd",), n=30, adaptive=None, feature_fn=lambda x: classifier_features(x, clf))
    assert len(rows) == 1 and math.isfinite(rows[0].values["fd"])


def test_fd_needs_a_loadable_classifier(run_and_classifier, tmp_path):
    run, _ = run_and_classifier
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    for extra, msg in (([], "--classifier"), (["--classifier", str(tmp_path / "none.pt")], "cannot load classifier"), (["--classifier", str(junk)], "cannot load classifier")):
        r = cli("eval", str(run), "--metrics", "fd", "--n", "10", *extra)
        assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
