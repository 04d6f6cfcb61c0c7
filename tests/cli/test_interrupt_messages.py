"""What a stopped command says is true of it: Ctrl-C in a command without a checkpoint (sample,
likelihood, reflow's pair-making) does not promise one, and a stopped stage of reflow or the
few-step recipe does not suggest --resume, which they refuse."""

from __future__ import annotations

import importlib
import signal

import pytest

from flowmatch.runs.signals import RunInterrupted
from helpers import cli

TINY = ["--steps", "4", "--batch-size", "16", "--hidden", "8", "--depth", "1", "--save-every", "4", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("msg") / "moons"
    cli("train", "--data", "moons", "--out", out, *TINY, check=True)
    return out


def ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "target,command",
    [
        ("flowmatch.runs.sample_run", ["sample", "--n", "5", "--out", "s.npy"]),
        ("flowmatch.runs.run_log_likelihood", ["likelihood", "--n", "5"]),
        ("flowmatch.recipes.reflow.make_pairs", ["reflow", "--out", "new", "--pairs", "8", "--steps", "2"]),
        ("flowmatch.evaluation.evaluate_run", ["eval", "--n", "5"]),
    ],
)
def test_ctrl_c_without_a_checkpoint_promises_none(run, tmp_path, monkeypatch, target, command):
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(module), name, ctrl_c)
    name_, *rest = command
    res = cli(name_, run, *[str(tmp_path / a) if a in ("s.npy", "new") else a for a in rest])
    assert res.returncode == 130, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: interrupted"), res.stderr
    assert "checkpoint" not in lines[0] and "--resume" not in lines[0]


def test_ctrl_c_before_training_still_points_to_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.import_module("flowmatch.runs.train").Trainer, "__init__", ctrl_c)
    res = cli("train", "--data", "moons", "--out", tmp_path / "r", *TINY)
    assert res.returncode == 130 and "--resume continues" in res.stderr


@pytest.mark.parametrize("where,command", [("few_step", ["train", "--recipe", "few-step"]), ("reflow", ["reflow"])])
def test_a_stopped_stage_of_a_chain_does_not_suggest_resume(run, tmp_path, monkeypatch, where, command):
    def stopped(*args, **kwargs):
        raise RunInterrupted(signal.SIGTERM, 3, str(tmp_path / "stage"))

    monkeypatch.setattr(importlib.import_module(f"flowmatch.recipes.{where}"), "train", stopped)
    if where == "reflow":
        res = cli("reflow", run, "--out", tmp_path / "new", "--pairs", "8", "--steps", "2")
    else:
        res = cli(*command, "--data", "moons", "--out", tmp_path / "new", *TINY, "--reflow-rounds", "0")
    assert res.returncode == 128 + signal.SIGTERM, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: stopped by SIGTERM"), res.stderr
    assert "--resume" not in lines[0] and "new --out" in lines[0]
