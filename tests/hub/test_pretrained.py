"""The pretrained models shipped in the package: listed, loaded by name, sampling at once on an
installed wheel (no training, no network), and pretrained:moons within 1.5x the W2 noise floor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

import flowmatch
from flowmatch.evaluation import w2_figures
from flowmatch.hub import PRETRAINED_DIR, describe_pretrained, pretrained_names
from flowmatch.hub import registry as registry_module
from flowmatch.runs import run_log_likelihood
from helpers import REPO, cli, fails_cleanly

FILES = {"model.safetensors", "config.json", "README.md", "samples.png"}


def test_pretrained_lists_moons_and_prints_its_card():
    r = cli("pretrained", check=True)
    models = {m["name"]: m for m in map(json.loads, r.stdout.splitlines())}
    moons = models["pretrained:moons"]
    assert moons["data"] == "moons" and moons["data_shape"] == [2] and moons["sampler"] == "euler" and moons["steps"] == 1
    card = cli("pretrained", "moons", "--card", check=True).stdout
    assert "scripts/make_pretrained_moons.sh" in card and "flowmatch train --data moons --recipe few-step" in card and "## Measured" in card


def test_every_packaged_model_is_a_small_export():
    total = 0
    for name in pretrained_names():
        folder = PRETRAINED_DIR / name
        assert {p.name for p in folder.iterdir()} >= FILES, name
        assert not any(p.suffix in (".pt", ".pth", ".pkl", ".bin", ".ckpt") for p in folder.iterdir()), name
        total += sum(p.stat().st_size for p in folder.iterdir())
    assert total < 8 * 2**20, f"packaged models take {total / 2**20:.1f} MiB"


def test_sample_pretrained_moons_in_one_step(tmp_path):
    r = cli("sample", "pretrained:moons", "--steps", "1", "--out", tmp_path / "x.png", check=True)
    rec = json.loads(r.stdout)
    assert rec["solver"] == "euler" and rec["nfe"] == 1 and (tmp_path / "x.png").stat().st_size > 1000
    model = flowmatch.from_pretrained("pretrained:moons")
    x = model.sample(500)  # the recommended sampler: one Euler step
    assert x.shape == (500, 2) and bool(torch.isfinite(x).all())
    assert torch.equal(x, model.sample(500, method="euler", steps=1))


def test_pretrained_moons_is_within_1_5x_the_noise_floor():
    """2,000 samples against fresh moons, median over 3 pairs of draws (the card: 5 pairs)."""
    figures = w2_figures(flowmatch.from_pretrained("pretrained:moons"), [1, 8], method="euler", n=2000, draws=3)
    for row in figures.rows:
        assert row["w2"] <= 1.5 * figures.floor, (row, figures.floor)


def test_an_unknown_name_lists_the_known_ones(tmp_path):
    line = fails_cleanly(cli("sample", "pretrained:mnistt", "--out", tmp_path / "x.png"), "unknown pretrained model pretrained:mnistt")
    assert "pretrained:moons" in line


def test_adding_a_model_is_adding_a_folder(tmp_path, monkeypatch):
    """What pretrained:mnist will be: a folder flowmatch/pretrained/NAME/ holding an export."""
    shutil.copytree(PRETRAINED_DIR, tmp_path / "pretrained")
    shutil.copytree(PRETRAINED_DIR / "moons", tmp_path / "pretrained" / "toy")
    monkeypatch.setattr(registry_module, "PRETRAINED_DIR", tmp_path / "pretrained")
    assert "toy" in pretrained_names() and describe_pretrained("toy")["name"] == "pretrained:toy"
    assert torch.equal(flowmatch.from_pretrained("pretrained:toy").sample(10), flowmatch.from_pretrained("pretrained:moons").sample(10))


def test_an_installed_wheel_samples_pretrained_moons_without_the_source_tree(tmp_path):
    """A fresh install: the wheel carries the models as package data; no training, no network."""
    tree = tmp_path / "tree"  # a clean copy: an in-tree build/ could carry stale files into the wheel
    shutil.copytree(REPO / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, tree / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp_path / "wheel", tree], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("flowmatch-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", tmp_path / "site", wheel], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    code = "import flowmatch, sys; print(flowmatch.__file__); sys.exit(__import__('flowmatch.cli', fromlist=['main']).main(sys.argv[1:]))"
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, "sample", "pretrained:moons", "--steps", "1", "--out", "x.png"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - start
    assert r.returncode == 0, r.stderr
    where, record = r.stdout.splitlines()
    assert where.startswith(str(tmp_path / "site")), where  # the installed copy, not this checkout
    assert json.loads(record)["nfe"] == 1 and (tmp_path / "x.png").is_file()
    assert seconds < 30, seconds


def test_pretrained_flood_samples_events_on_the_globe_and_scores_them(tmp_path):
    r = cli("sample", "pretrained:flood", "--n", "300", "--out", tmp_path / "x.npy", check=True)
    assert json.loads(r.stdout)["solver"] == "midpoint"
    latlon = np.load(tmp_path / "x.npy")
    assert latlon.shape == (300, 2) and np.abs(latlon[:, 0]).max() <= 90 and np.abs(latlon[:, 1]).max() <= 180
    model = flowmatch.from_pretrained("pretrained:flood")
    lik = run_log_likelihood(model, model.sample(200), steps=20)
    # floods crowd along rivers and coasts: far more concentrated than the uniform density's log(4 pi) = 2.53 nats
    assert lik.nll < 1.5
