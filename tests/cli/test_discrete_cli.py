"""Discrete runs from the command line: train on text and the 2D discrete set, sample text, tokens
and pictures (guided by class), the likelihood bound, export, and one error line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import cli, fails_cleanly

TEXT = "to be or not to be, that is the question.\n" * 20
SMALL = ("--embed-dim", 16, "--layers", 1, "--heads", 2, "--no-progress")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    (root / "train.txt").write_text(TEXT, encoding="utf-8")
    out = cli("train", "--data", root / "train.txt", "--seq-len", 12, "--steps", 6, "--batch-size", 8, "--out", root / "run", *SMALL, check=True)
    return root, json.loads(out.stdout)


def test_text_train_sample_and_likelihood(text_run):
    root, record = text_run
    assert record["step"] == 6
    config = json.loads((root / "run" / "config.json").read_text())
    assert config["objective"] == "discrete" and config["model"] == "transformer" and config["discrete_source"] == "mask"
    rec = json.loads(cli("sample", root / "run", "--out", root / "s.txt", "--n", 3, "--steps", 4, check=True).stdout)
    assert rec["nfe"] == 4 and rec["solver"] == "kappa"
    blocks = (root / "s.txt").read_text(encoding="utf-8").split("--- sample ")[1:]
    assert len(blocks) == 3 and all(len(b.split("\n", 1)[1][:-1]) == 12 for b in blocks)  # each block: its number, 12 characters, a newline
    assert set("".join(b.split("\n", 1)[1] for b in blocks)) <= set(TEXT)
    bound = json.loads(cli("likelihood", root / "run", "--data", root / "train.txt", check=True).stdout)
    assert bound["bpc"] == pytest.approx(bound["nll"] / np.log(2), rel=1e-3)
    assert bound["sequences"] == len(TEXT) // 12 and 0 < bound["nll"] < 2 * np.log(len(set(TEXT)))
    tokens = root / "s.npy"
    cli("sample", root / "run", "--out", tokens, "--n", 2, "--steps", 2, "--temperature", 0.5, "--corrector", 0.5, check=True)
    assert np.load(tokens).shape == (2, 12)


def test_text_run_resumes_and_exports(text_run):
    root, _ = text_run
    resumed = json.loads(cli("train", "--data", root / "train.txt", "--seq-len", 12, "--steps", 9, "--batch-size", 8, "--out", root / "run", *SMALL, "--resume", check=True).stdout)
    assert resumed["step"] == 9
    cli("export", root / "run", "--out", root / "exported", check=True)
    meta = json.loads((root / "exported" / "config.json").read_text())
    assert meta["vocab_size"] == len(set(TEXT)) and meta["vocabulary"] == "".join(sorted(set(TEXT)))
    cli("sample", root / "exported", "--out", root / "e.txt", "--n", 1, "--steps", 2, check=True)
    import flowmatch

    model = flowmatch.from_pretrained(str(root / "exported"))
    assert model.sample(2, steps=2).shape == (2, 12)


def test_checkerboard_guided_picture_and_tokens(tmp_path):
    cli("train", "--data", "discrete-checkerboard", "--steps", 5, "--batch-size", 64, "--hidden", 16, "--out", tmp_path / "cb", "--no-progress", check=True)
    rec = json.loads(cli("sample", tmp_path / "cb", "--out", tmp_path / "cb.png", "--n", 200, "--steps", 4, "--class", 2, "--guidance", 2, "--trajectory", tmp_path / "path.png", check=True).stdout)
    assert rec["nfe"] == 4 and rec["guidance"] == 2.0 and (tmp_path / "cb.png").stat().st_size > 0 and (tmp_path / "path.png").is_file()
    cli("sample", tmp_path / "cb", "--out", tmp_path / "cb.npy", "--n", 10, "--steps", 2, "--guidance-space", "rates", "--class", 0, "--guidance", 3, check=True)
    x = np.load(tmp_path / "cb.npy")
    assert x.shape == (10, 2) and x.min() >= 0 and x.max() < 128
    plotted = json.loads(cli("plot", tmp_path / "cb", "--out", tmp_path / "plots", "--n", 200, check=True).stdout)
    assert sorted(Path(f).name for f in plotted["files"]) == ["loss.png", "path.png", "samples.png"]
    figures = json.loads(cli("eval", tmp_path / "cb", "--n", 500, "--steps", 2, check=True).stdout)
    assert 0 <= figures["tv_floor"] < figures["tv"] <= 1 and figures["nll"] > 0  # an untrained model is far from the law


def test_bad_token_input_gets_one_error_line(tmp_path):
    binary, empty, short = tmp_path / "b.txt", tmp_path / "e.txt", tmp_path / "s.txt"
    binary.write_bytes(bytes(range(256)))
    empty.write_bytes(b"")
    short.write_text("abc", encoding="utf-8")
    fails_cleanly(cli("train", "--data", binary, "--steps", 1, "--out", tmp_path / "r1", "--no-progress"), "binary")
    fails_cleanly(cli("train", "--data", empty, "--steps", 1, "--out", tmp_path / "r2", "--no-progress"), "empty")
    fails_cleanly(cli("train", "--data", short, "--seq-len", 8, "--steps", 1, "--out", tmp_path / "r3", "--no-progress"), "seq-len 8")
    tokens = tmp_path / "t.npy"
    np.save(tokens, np.array([[0, 1], [2, 9]]))
    fails_cleanly(cli("train", "--data", tokens, "--vocab-size", 4, "--steps", 1, "--out", tmp_path / "r4", "--no-progress"), "token 9", "0..3")
    fails_cleanly(cli("train", "--data", "moons", "--objective", "discrete", "--steps", 1, "--out", tmp_path / "r5", "--no-progress"), "token data")
    fails_cleanly(cli("train", "--data", "discrete-checkerboard", "--coupling", "ot", "--steps", 1, "--out", tmp_path / "r6", "--no-progress"), "coupling")
    assert not any((tmp_path / f"r{i}").exists() and any((tmp_path / f"r{i}").iterdir()) for i in range(1, 7))


def test_flags_of_the_other_kind_of_run_are_refused(tmp_path, text_run):
    root, _ = text_run
    fails_cleanly(cli("sample", root / "run", "--out", tmp_path / "x.png"), "2D discrete set")
    fails_cleanly(cli("sample", root / "run", "--out", tmp_path / "x.txt", "--sde"), "--sde")
    fails_cleanly(cli("sample", root / "run", "--out", tmp_path / "x.txt", "--solver", "rk4"), "kappa or euler")
    fails_cleanly(cli("sample", root / "run", "--out", tmp_path / "x.txt", "--class", 1), "class-conditional")
    other = tmp_path / "other.txt"
    other.write_text("xyz€", encoding="utf-8")
    fails_cleanly(cli("likelihood", root / "run", "--data", other), "outside the vocabulary")
    cli("train", "--data", "moons", "--steps", 2, "--batch-size", 16, "--hidden", 8, "--out", tmp_path / "moons", "--no-progress", check=True)
    fails_cleanly(cli("sample", tmp_path / "moons", "--out", tmp_path / "m.txt"), "discrete runs")
    fails_cleanly(cli("sample", tmp_path / "moons", "--out", tmp_path / "m.npy", "--solver", "kappa"), "discrete run")


def test_token_array_run_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(40, 4))
    np.savez(tmp_path / "tok.npz", x=x, y=(x[:, 0] > 2).astype(np.int64))
    cli("train", "--data", tmp_path / "tok.npz", "--vocab-size", 5, "--steps", 3, "--batch-size", 8, "--out", tmp_path / "run", *SMALL, check=True)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["vocab_size"] == 5 and state["num_classes"] == 2 and state["vocabulary"] is None
    cli("sample", tmp_path / "run", "--out", tmp_path / "s.npy", "--n", 4, "--steps", 2, "--class", 1, "--guidance", 2, check=True)
    assert np.load(tmp_path / "s.npy").shape == (4, 4)
    bound = json.loads(cli("likelihood", tmp_path / "run", "--data", tmp_path / "tok.npz", "--n", 20, check=True).stdout)
    assert bound["sequences"] == 20


def test_validation_text_keeps_the_best_bound(tmp_path, text_run):
    root, _ = text_run
    val = tmp_path / "val.txt"
    val.write_text("that is the question.\n" * 3, encoding="utf-8")
    cli("train", "--data", root / "train.txt", "--val-data", val, "--seq-len", 12, "--steps", 4, "--save-every", 2, "--batch-size", 8, "--out", tmp_path / "run", *SMALL, check=True)
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["metric"] == "val_nll" and 0 < best["value"] < 2 * np.log(len(set(TEXT)))
    bound = json.loads(cli("likelihood", tmp_path / "run", "--data", val, "--checkpoint", "best", check=True).stdout)
    assert bound["sequences"] == len(val.read_text()) // 12
    bad = tmp_path / "bad.txt"
    bad.write_text("xyz€", encoding="utf-8")
    fails_cleanly(cli("train", "--data", root / "train.txt", "--val-data", bad, "--seq-len", 2, "--steps", 1, "--out", tmp_path / "r2", "--no-progress"), "outside the vocabulary")
