"""The command line on curved spaces: train, sample, likelihood, eval, plot, export, --val-data and --checkpoint best."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from helpers import cli

TINY = ("--hidden", "16", "--depth", "2", "--batch-size", "64", "--no-progress")


@pytest.fixture(scope="module")
def sphere_run(tmp_path_factory):
    """A tiny run on a latitude/longitude CSV (with comments and a header), validated on another."""
    d = tmp_path_factory.mktemp("sphere")
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-60, 60, 300), rng.uniform(-180, 180, 300)
    rows = "\n".join(f"{a:.4f},{b:.4f}" for a, b in zip(lat, lon))
    (d / "train.csv").write_text("# events\nlat,long\n" + rows + "\n")
    (d / "val.csv").write_text("latitude,longitude\n" + "\n".join(f"{a:.4f},{b:.4f}" for a, b in zip(lat[:50], lon[:50])) + "\n")
    run = d / "run"
    res = cli("train", "--data", d / "train.csv", "--manifold", "sphere", "--coupling", "ot", "--out", run, "--steps", "40", "--val-data", d / "val.csv", "--val-every", "20", *TINY)
    assert res.returncode == 0, res.stderr
    return d, run


def test_train_keeps_the_best_validation_checkpoint(sphere_run):
    _, run = sphere_run
    best = json.loads((run / "best.json").read_text())
    lines = [json.loads(x) for x in (run / "validation.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [20, 40]
    assert best["metric"] == "val_nll" and best["value"] == pytest.approx(min(x["val_nll"] for x in lines))
    assert (run / "best.pt").is_file()


def test_sample_writes_latitude_longitude(sphere_run, tmp_path):
    _, run = sphere_run
    res = cli("sample", run, "--out", tmp_path / "s.npy", "--n", "100", "--checkpoint", "best")
    assert res.returncode == 0, res.stderr
    record = json.loads(res.stdout)
    assert record["steps"] == 50 and record["nfe"] == 100
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (100, 2) and np.abs(x[:, 0]).max() <= 90 and np.abs(x[:, 1]).max() <= 180


def test_likelihood_eval_plot_and_export(sphere_run, tmp_path):
    d, run = sphere_run
    lik = cli("likelihood", run, "--data", d / "val.csv", "--n", "50", "--steps", "10")
    assert lik.returncode == 0, lik.stderr
    nll = json.loads(lik.stdout)
    # a barely trained flow from the uniform distribution stays near its log(4 pi)
    assert nll["solver"] == "midpoint" and nll["nfe"] == 20 and abs(nll["nll"] - math.log(4 * math.pi)) < 0.5
    ev = cli("eval", run, "--n", "60", "--steps", "8")
    assert ev.returncode == 0, ev.stderr
    assert set(json.loads(ev.stdout)) >= {"w2", "mmd"}
    plot = cli("plot", run, "--out", tmp_path / "plots")
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "plots" / "samples.png").is_file() and (tmp_path / "plots" / "trajectories.png").is_file()
    exp = cli("export", run, "--out", tmp_path / "export", "--checkpoint", "best")
    assert exp.returncode == 0, exp.stderr
    again = cli("likelihood", tmp_path / "export", "--data", d / "val.csv", "--n", "50", "--steps", "10")
    best = cli("likelihood", run, "--data", d / "val.csv", "--n", "50", "--steps", "10", "--checkpoint", "best")
    assert json.loads(again.stdout)["nll"] == pytest.approx(json.loads(best.stdout)["nll"], abs=1e-9)


def test_torus_run_in_degrees(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "angles.csv").write_text("phi,psi\n" + "\n".join(f"{a:.2f},{b:.2f}" for a, b in rng.uniform(-180, 180, (200, 2))) + "\n")
    run = tmp_path / "run"
    res = cli("train", "--data", tmp_path / "angles.csv", "--manifold", "torus", "--degrees", "--out", run, "--steps", "20", *TINY)
    assert res.returncode == 0, res.stderr
    cli("sample", run, "--out", tmp_path / "s.npy", "--n", "50", check=True)
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (50, 2) and np.abs(x).max() <= 180  # in the data's unit
    lik = cli("likelihood", run, "--n", "50")
    assert abs(json.loads(lik.stdout)["nll"] - 2 * math.log(2 * math.pi)) < 0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [("lat,lon\n95,10\n", "latitudes must lie in"), ("lat,lon\n10,nan\n", "NaN")],
)
def test_bad_points_are_one_error_line(tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    res = cli("train", "--data", tmp_path / "bad.csv", "--manifold", "sphere", "--out", tmp_path / "run", "--steps", "5", *TINY)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_options_a_manifold_does_not_take_are_refused(tmp_path):
    for extra, message in ((("--path", "vp"), "alpha_0 = 0"), (("--path", "bridge"), "affine --path"), (("--coupling", "sinkhorn"), "--coupling independent or ot")):
        res = cli("train", "--data", "vmf-mixture", "--manifold", "sphere", "--out", tmp_path / "r", "--steps", "2", *extra, *TINY)
        assert res.returncode == 2 and message in res.stderr, res.stderr


def test_best_checkpoint_needs_val_data(tmp_path):
    run = tmp_path / "run"
    cli("train", "--data", "moons", "--out", run, "--steps", "5", *TINY, check=True)
    res = cli("sample", run, "--out", tmp_path / "s.npy", "--checkpoint", "best")
    assert res.returncode == 2 and "best.pt" in res.stderr and "--val-data" in res.stderr


def test_flat_only_samplers_are_refused_on_a_manifold(sphere_run, tmp_path):
    _, run = sphere_run
    for flags, message in ((("--solver", "dopri5"), "samples with a manifold solver"), (("--sde",), "samples by its ODE")):
        res = cli("sample", run, "--out", tmp_path / "s.npy", "--n", "10", *flags)
        assert res.returncode == 2 and message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    res = cli("sample", run, "--out", tmp_path / "s.npy", "--n", "10", "--solver", "exp-rk4", "--steps", "3")
    assert res.returncode == 0 and json.loads(res.stdout)["nfe"] == 12
