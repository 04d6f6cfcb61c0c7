"""The command line on labelled and conditioned point runs, SDE sampling, bridge runs and targets."""

import json

import numpy as np
import pytest

from helpers import cli, fails_cleanly

TINY = ["--steps", "20", "--batch-size", "32", "--hidden", "16", "--depth", "1", "--save-every", "20", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cond")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    np.savez(root / "labelled.npz", x=x, y=np.arange(200) % 3)
    np.savez(root / "conditioned.npz", x=x, c=rng.normal(size=(200, 2)))
    out = {}
    for name, args in {
        "labelled": ["--data", root / "labelled.npz", "--coupling", "ot"],
        "conditioned": ["--data", root / "conditioned.npz", "--coupling", "ot"],
        "gauss": ["--data", "moons", "--target", "x1"],
        "bridge": ["--data", "moons", "--source", "8gaussians", "--path", "bridge", "--bridge-sigma", "0.3", "--coupling", "sb"],
    }.items():
        out[name] = root / name
        cli("train", *args, "--out", out[name], *TINY, check=True)
    out["root"] = root
    return out


def sample(run, tmp_path, *args, check=True):
    result = cli("sample", run, "--out", tmp_path / "s.npy", *args, check=check)
    return result, (json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else None)


def test_class_conditional_point_run_samples_by_class(runs, tmp_path):
    _, line = sample(runs["labelled"], tmp_path, "--n", "40", "--class", "2", "--guidance", "1.5")
    assert line["class"] == "2" and line["guidance"] == 1.5 and np.load(tmp_path / "s.npy").shape == (40, 2)
    _, line = sample(runs["labelled"], tmp_path, "--n", "10", "--class", "all")
    assert line["n"] == 12  # ceil(10 / 3) per class
    fails_cleanly(sample(runs["labelled"], tmp_path, "--class", "3", check=False)[0], "class 3 is out of range")
    fails_cleanly(sample(runs["gauss"], tmp_path, "--class", "0", check=False)[0], "class-conditional")


def test_guidance_rescale_from_the_flag_or_the_run(runs, tmp_path):
    _, plain = sample(runs["labelled"], tmp_path, "--n", "30", "--class", "1", "--guidance", "3", "--seed", "4")
    x_plain = np.load(tmp_path / "s.npy")
    _, line = sample(runs["labelled"], tmp_path, "--n", "30", "--class", "1", "--guidance", "3", "--seed", "4", "--guidance-rescale", "0.5")
    assert "guidance_rescale" not in plain and line["guidance_rescale"] == 0.5
    assert not np.allclose(np.load(tmp_path / "s.npy"), x_plain)  # the flag reaches the sampler
    fails_cleanly(sample(runs["labelled"], tmp_path, "--class", "1", "--guidance", "2", "--guidance-rescale", "1.5", check=False)[0], "--guidance-rescale")
    fails_cleanly(sample(runs["gauss"], tmp_path, "--guidance-rescale", "0.5", check=False)[0], "class-conditional")


def test_conditions_from_a_file(runs, tmp_path):
    one, rows = tmp_path / "one.npy", tmp_path / "rows.npy"
    np.save(one, np.array([0.5, -1.0]))
    np.save(rows, np.zeros((7, 2)))
    _, line = sample(runs["conditioned"], tmp_path, "--n", "30", "--condition", one)
    assert line["n"] == 30 and line["condition"] == str(one) and np.load(tmp_path / "s.npy").shape == (30, 2)
    _, line = sample(runs["conditioned"], tmp_path, "--condition", rows)  # one sample per row
    assert line["n"] == 7
    fails_cleanly(sample(runs["conditioned"], tmp_path, "--n", "5", "--condition", rows, check=False)[0], "7 rows")
    fails_cleanly(sample(runs["conditioned"], tmp_path, check=False)[0], "conditioned on 2")
    np.save(tmp_path / "three.npy", np.zeros(3))
    fails_cleanly(sample(runs["conditioned"], tmp_path, "--condition", tmp_path / "three.npy", check=False)[0], "got (2000, 3)")
    fails_cleanly(sample(runs["labelled"], tmp_path, "--condition", one, check=False)[0], "without continuous conditions")
    fails_cleanly(sample(runs["conditioned"], tmp_path, "--condition", tmp_path / "missing.npy", check=False)[0], "not found")


def test_sde_sampling_from_the_command_line(runs, tmp_path):
    _, line = sample(runs["gauss"], tmp_path, "--n", "50", "--sde", "--steps", "12", "--noise-scale", "0.5")
    assert line["solver"] == "euler-maruyama" and line["nfe"] == 12 and line["noise_scale"] == 0.5
    a = np.load(tmp_path / "s.npy")
    sample(runs["gauss"], tmp_path, "--n", "50", "--steps", "12", "--solver", "euler")
    assert not np.allclose(a, np.load(tmp_path / "s.npy"))  # the noise is there
    sample(runs["gauss"], tmp_path, "--n", "50", "--sde", "--steps", "12", "--noise-scale", "0")
    assert np.allclose(np.load(tmp_path / "s.npy"), np.load(tmp_path / "s.npy"))
    fails_cleanly(sample(runs["gauss"], tmp_path, "--sde", "--solver", "rk4", check=False)[0], "Euler-Maruyama")
    fails_cleanly(sample(runs["gauss"], tmp_path, "--noise-scale", "2", check=False)[0], "--sde")
    fails_cleanly(sample(runs["gauss"], tmp_path, "--sde", "--noise-scale", "-1", check=False)[0], "noise-scale")


def test_bridge_run_samples_by_ode_and_sde(runs, tmp_path):
    cfg = json.loads((runs["bridge"] / "config.json").read_text())
    assert cfg["path"] == "bridge" and cfg["bridge_sigma"] == 0.3 and cfg["coupling"] == "sb"
    _, ode = sample(runs["bridge"], tmp_path, "--n", "20", "--solver", "rk4", "--steps", "2")
    _, sde = sample(runs["bridge"], tmp_path, "--n", "20", "--sde", "--steps", "5")
    assert ode["nfe"] == 8 and sde["nfe"] == 5 and np.isfinite(np.load(tmp_path / "s.npy")).all()


def test_option_combinations_that_do_not_fit_are_refused(runs, tmp_path):
    new = ["--out", tmp_path / "new", *TINY]
    fails_cleanly(cli("train", "--coupling", "sb", *new), "needs --path bridge")
    fails_cleanly(cli("train", "--path", "bridge", "--target", "x1", *new), "--target x1")
    fails_cleanly(cli("train", "--path", "condot", "--bridge-sigma", "0.2", *new), "--bridge-sigma")
    fails_cleanly(cli("train", "--data", runs["root"] / "conditioned.npz", "--model", "unet", *new), "mlp")
    fails_cleanly(sample(runs["gauss"], tmp_path, "--sde", "--density-guidance", "0.5", check=False)[0], "density guidance")
    two_sided = tmp_path / "two"
    cli("train", "--data", "moons", "--source", "8gaussians", "--out", two_sided, *TINY, check=True)
    fails_cleanly(sample(two_sided, tmp_path, "--sde", check=False)[0], "Gaussian source")
