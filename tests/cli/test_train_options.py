"""`flowmatch train` options: config files are checked key by key, and every schedule parameter
of a path can be set from the command line and is kept by the run."""

from __future__ import annotations

import json

import pytest

from flowmatch.paths import VESchedule
from flowmatch.runs import load_run
from helpers import cli, fails_cleanly

QUICK = ["--data", "moons", "--hidden", "8", "--depth", "1", "--batch-size", "16", "--no-progress"]


@pytest.mark.parametrize(
    "line,words",
    [
        ("steps = 1.5", ("steps", "integer")),
        ("steps = true", ("steps", "integer")),
        ('steps = "10"', ("steps", "integer")),
        ("stepz = 10", ("unknown option", "stepz")),
        ("progress = 1", ("progress", "true or false")),
        ("lr = nan", ("lr", "finite")),
    ],
)
def test_a_config_file_with_a_wrong_type_or_an_unknown_key_is_one_line_naming_the_key(tmp_path, line, words):
    (tmp_path / "c.toml").write_text(f'data = "moons"\n{line}\n')
    result = cli("train", "--config", tmp_path / "c.toml", "--out", tmp_path / "r", "--no-progress")
    fails_cleanly(result, *words)
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_a_wrong_type_in_a_yaml_config_names_the_key(tmp_path):
    (tmp_path / "c.yaml").write_text("steps: 1.5\n")
    fails_cleanly(cli("train", "--config", tmp_path / "c.yaml", "--out", tmp_path / "r"), "steps")


def test_every_schedule_parameter_is_settable_from_a_run(tmp_path):
    out = tmp_path / "ve"
    cli("train", *QUICK, "--steps", "2", "--path", "ve", "--sigma-max", "5", "--out", out, check=True)
    saved = json.loads((out / "config.json").read_text())
    assert saved["path"] == "ve" and saved["sigma_max"] == 5 and saved["sigma_min"] is None
    run = load_run(out)
    assert isinstance(run.path.schedule, VESchedule) and run.path.schedule.sigma_max == 5.0
    assert run.path.schedule == VESchedule(sigma_min=0.01, sigma_max=5.0)  # sigma_min: the schedule's default
    # the other paths' parameters, each written to config.json
    for flags, key, value in (
        (["--path", "vp", "--beta-min", "0.2", "--beta-max", "10"], "beta_max", 10),
        (["--path", "polynomial", "--exponent", "3"], "exponent", 3),
        (["--path", "condot", "--sigma-min", "0.1"], "sigma_min", 0.1),
    ):
        d = tmp_path / flags[1]
        cli("train", *QUICK, "--steps", "1", *flags, "--out", d, check=True)
        assert json.loads((d / "config.json").read_text())[key] == value, flags


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--path", "condot", "--sigma-max", "3"], ("sigma-max", "condot")),
        (["--path", "cosine", "--exponent", "2"], ("cosine",)),
        (["--path", "cosine", "--exponent", "2"], ("exponent",)),
        (["--path", "ve", "--sigma-min", "5", "--sigma-max", "1"], ("--sigma-min < --sigma-max",)),
        (["--path", "ve", "--sigma-max", "0"], ("sigma-max",)),
    ],
)
def test_a_parameter_the_path_does_not_take_or_a_bad_value_is_refused(tmp_path, flags, words):
    fails_cleanly(cli("train", *QUICK, "--steps", "1", *flags, "--out", tmp_path / "r"), *words)
    assert not (tmp_path / "r").exists()
