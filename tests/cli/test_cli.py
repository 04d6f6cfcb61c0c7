"""End to end through the command line: train, sample, plot, resume after kill -9, bad input.

Commands run in this process (`helpers.cli`); a real `python -m flowmatch` process only where
that is the point (the kill -9 and the entry point itself).
"""

import json
import os

import numpy as np
import pytest

from helpers import cli, fails_cleanly, run_cli

TINY = ["--steps", "60", "--batch-size", "64", "--hidden", "16", "--depth", "2", "--save-every", "30", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "moons"
    cli("train", "--data", "moons", "--out", out, *TINY, check=True)
    return out


def test_train_writes_run_directory(tiny_run):
    assert {"checkpoint.pt", "config.json", "log.jsonl"} <= {p.name for p in tiny_run.iterdir()}
    cfg = json.loads((tiny_run / "config.json").read_text())
    assert cfg["steps"] == 60 and cfg["data"] == "moons" and cfg["hidden"] == 16
    rows = [json.loads(line) for line in (tiny_run / "log.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 60 and all(np.isfinite(r["loss"]) for r in rows)


@pytest.mark.parametrize("solver,steps,nfe", [("euler", 3, 3), ("midpoint", 4, 8), ("heun", 2, 4), ("rk4", 2, 8)])
def test_sample_npy_and_json_line(tiny_run, tmp_path, solver, steps, nfe):
    out = tmp_path / "s.npy"
    proc = cli("sample", tiny_run, "--n", "50", "--out", out, "--solver", solver, "--steps", steps, check=True)
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["nfe"] == nfe and line["solver"] == solver and line["steps"] == steps and line["out"] == str(out)
    assert np.load(out).shape == (50, 2)


def test_sample_dopri5_png_trajectory_and_seed(tiny_run, tmp_path):
    proc = cli("sample", tiny_run, "--n", "30", "--out", tmp_path / "s.png", "--solver", "dopri5", "--trajectory", tmp_path / "t.png", check=True)
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["nfe"] > 0 and (tmp_path / "s.png").stat().st_size > 1000 and (tmp_path / "t.png").stat().st_size > 1000
    a, b, c = (tmp_path / f"{k}.npy" for k in "abc")
    for f, seed in ((a, 3), (b, 3), (c, 4)):
        cli("sample", tiny_run, "--n", "20", "--out", f, "--seed", seed, check=True)
    assert np.array_equal(np.load(a), np.load(b)) and not np.array_equal(np.load(a), np.load(c))


def test_plot_writes_pictures(tiny_run, tmp_path):
    proc = cli("plot", tiny_run, "--out", tmp_path / "p", "--n", "200", check=True)
    files = json.loads(proc.stdout.strip().splitlines()[-1])["files"]
    assert {os.path.basename(f) for f in files} == {"samples.png", "trajectories.png", "field.png", "loss.png"}


def test_config_file_and_flag_precedence(tmp_path):
    (tmp_path / "c.toml").write_text('data = "circles"\nsteps = 10\nbatch-size = 16\nhidden = 8\nlr = 0.01\n')
    (tmp_path / "c.yaml").write_text("data: 8gaussians\nsteps: 10\nhidden: 8\n")
    cli("train", "--config", tmp_path / "c.toml", "--out", tmp_path / "r1", "--steps", "12", "--no-progress", check=True)
    cfg = json.loads((tmp_path / "r1" / "config.json").read_text())
    assert (cfg["data"], cfg["steps"], cfg["batch_size"], cfg["lr"]) == ("circles", 12, 16, 0.01)
    cli("train", "--config", tmp_path / "c.yaml", "--out", tmp_path / "r2", "--no-progress", check=True)
    assert json.loads((tmp_path / "r2" / "config.json").read_text())["data"] == "8gaussians"


def test_two_sided_flow_from_a_data_source(tmp_path):
    cli("train", "--data", "moons", "--source", "8gaussians", "--out", tmp_path / "r", "--steps", "10", "--hidden", "8", "--no-progress", check=True)
    cli("sample", tmp_path / "r", "--n", "10", "--out", tmp_path / "s.npy", check=True)
    assert np.load(tmp_path / "s.npy").shape == (10, 2)


def test_bad_input_is_one_line_with_exit_2(tmp_path, tiny_run):
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan], [1.0, 2.0]]))
    np.save(tmp_path / "flat.npy", np.zeros(10))
    np.save(tmp_path / "empty.npy", np.zeros((0, 2)))
    (tmp_path / "text.csv").write_text("1,2\nhello,world\n")
    (tmp_path / "blank.csv").write_text("")
    out = ["--out", tmp_path / "r", "--steps", "2", "--no-progress"]
    cases = [
        (["train", "--data", "moonz", *out], "unknown data"),
        (["train", "--data", tmp_path / "missing.npy", *out], "not found"),
        (["train", "--data", tmp_path / "nan.npy", *out], "NaN"),
        (["train", "--data", tmp_path / "flat.npy", *out], "(N, D)"),
        (["train", "--data", tmp_path / "empty.npy", *out], "empty"),
        (["train", "--data", tmp_path / "text.csv", *out], "not numbers"),
        (["train", "--data", tmp_path / "blank.csv", *out], "empty"),
        (["train", "--data", "moons", "--path", "zigzag", *out], "invalid choice"),
        (["train", "--data", "moons", "--bogus", "1", *out], "unrecognized arguments"),
        (["train", "--data", "moons", "--source", "nowhere.npy", *out], "not found"),
        (["sample", tmp_path / "no-run", "--out", tmp_path / "x.npy"], "run directory not found"),
        (["sample", tmp_path, "--out", tmp_path / "x.npy"], "no checkpoint"),
        (["sample", tiny_run, "--out", tmp_path / "x.txt"], ".npy or .png"),
        (["sample", tiny_run, "--out", tmp_path / "x.npy", "--solver", "leapfrog"], "invalid choice"),
    ]
    for args, match in cases:
        fails_cleanly(cli(*args), match)


def test_zero_steps_is_one_line_with_exit_2(tmp_path):
    fails_cleanly(cli("train", "--data", "moons", "--steps", "0", "--out", tmp_path / "r0"), "steps must be")


def test_corrupt_checkpoint_and_refusal_to_overwrite(tmp_path, tiny_run):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_run, bad)
    (bad / "checkpoint.pt").write_bytes(b"\x00garbage" * 10)
    fails_cleanly(cli("sample", bad, "--out", tmp_path / "x.npy"), "corrupt", "checkpoint")
    fails_cleanly(cli("train", "--data", "moons", "--out", bad, "--resume", "--no-progress"), "corrupt", "checkpoint")
    # an existing run is never overwritten by accident
    fails_cleanly(cli("train", "--data", "moons", "--out", tiny_run, "--steps", "5"), "--resume")


def test_help_for_every_command():
    for cmd in ("train", "sample", "plot", "demo", "reflow", "eval", "likelihood"):
        proc = cli(cmd, "--help")
        assert proc.returncode == 0 and "usage:" in proc.stdout


def test_cli_rejects_diffusers_unet_on_points(tmp_path):
    proc = cli("train", "--data", "moons", "--model", "diffusers-unet", "--out", tmp_path / "r", "--steps", "1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: model 'diffusers-unet' takes images of shape (C, H, W), got data of shape (2,)"]


def test_python_dash_m_flowmatch_is_the_cli(tmp_path):
    """The real entry point: `python -m flowmatch` exits with main()'s code and prints its lines."""
    ok = run_cli("sample", "--help")
    assert ok.returncode == 0 and "usage:" in ok.stdout
    fails_cleanly(run_cli("train", "--data", "moonz", "--out", tmp_path / "r", "--steps", "2", "--no-progress"), "unknown data")
    fails_cleanly(run_cli("train", "--bogus", "1"), "unrecognized arguments")
