"""`flowmatch export` and `from_pretrained`: an exported folder holds no pickle, and samples,
evaluates and scores exactly as the run it came from; what it refuses; the Hub, offline."""

from __future__ import annotations

import json
import shlex
import sys

import numpy as np
import pytest
import torch

import flowmatch
from flowmatch.errors import FlowmatchError
from flowmatch.hub import export_run, from_pretrained, load_model
from flowmatch.runs import load_run, sample_run
from helpers import cli, fails_cleanly

TINY = ["--steps", "60", "--batch-size", "64", "--hidden", "32", "--depth", "2", "--save-every", "60", "--no-progress"]
EXPORT = ["--n-eval", "200", "--eval-draws", "1", "--eval-steps", "1,2"]
IMAGE = ["--model", "unet", "--channels", "8", "--channel-mults", "1,2", "--batch-size", "8", "--steps", "3", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2D run, its export, a two-sided run from a file and its export, a class-conditional image run and its export."""
    root = tmp_path_factory.mktemp("hub")
    cli("train", "--data", "moons", "--out", root / "moons", *TINY, check=True)
    cli("export", root / "moons", "--out", root / "moons-export", *EXPORT, check=True)
    np.save(root / "src.npy", np.random.default_rng(0).normal(3.0, 0.5, size=(500, 2)).astype(np.float32))
    cli("train", "--data", "moons", "--source", root / "src.npy", "--out", root / "two", *TINY, check=True)
    cli("export", root / "two", "--out", root / "two-export", "--no-eval", check=True)
    cli("train", "--data", "digits", "--out", root / "digits", *IMAGE, check=True)
    cli("export", root / "digits", "--out", root / "digits-export", "--guidance", "2", check=True)
    return root


def is_pickle_or_torch_zip(data: bytes) -> bool:
    return data[:1] == b"\x80" or data[:2] == b"PK"  # pickle protocol 2+, or torch.save's zip


def test_an_export_holds_no_pickle(runs):
    for name in ("moons-export", "two-export", "digits-export"):
        files = sorted((runs / name).iterdir())
        assert {f.name for f in files} >= {"model.safetensors", "config.json", "README.md", "samples.png"}, name
        for f in files:
            assert f.suffix in (".safetensors", ".json", ".md", ".png"), f
            assert not is_pickle_or_torch_zip(f.read_bytes()), f
    assert (runs / "two-export" / "source.safetensors").is_file()  # a two-sided run's source travels
    assert not list(runs.glob(".*.tmp"))  # the temporary folders are gone


def test_config_json_holds_what_sampling_needs(runs):
    meta = json.loads((runs / "moons-export" / "config.json").read_text())
    assert meta["library_name"] == "flowmatch" and meta["data_shape"] == [2] and meta["num_classes"] == 0
    assert meta["model"] == "mlp" and meta["model_options"] == {"hidden": 32, "depth": 2, "fourier_features": 0, "fourier_scale": 1.0}
    assert meta["path"] == "condot" and "sigma_min" in meta["path_options"] and meta["source"] == "gaussian" and meta["source_scale"] == 1.0
    assert meta["weights"] == "ema" and meta["step"] == 60 and meta["training"]["steps"] == 60
    assert [r["steps"] for r in meta["figures"]["rows"]] == [1, 2] and meta["figures"]["noise_floor"] > 0
    digits = json.loads((runs / "digits-export" / "config.json").read_text())
    assert digits["data_shape"] == [1, 8, 8] and digits["num_classes"] == 10


def test_the_card_says_what_it_is_how_it_was_made_and_what_was_measured(runs):
    card = (runs / "moons-export" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: flowmatch\n")
    for text in ("![samples](samples.png)", "## Measured", "noise floor", "## Reproduce", "flowmatch train --data moons", "--hidden 32", "from_pretrained", "parameters"):
        assert text in card, text


@pytest.mark.parametrize("name", ["moons", "two"])
def test_export_samples_like_the_run_bit_for_bit(runs, tmp_path, name):
    for args in ([], ["--solver", "rk4", "--steps", "3", "--seed", "7"]):
        cli("sample", runs / name, "--n", "300", "--out", tmp_path / "a.npy", *args, check=True)
        cli("sample", runs / f"{name}-export", "--n", "300", "--out", tmp_path / "b.npy", *args, check=True)
        assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    run, exported = load_run(runs / name), from_pretrained(runs / f"{name}-export")
    assert torch.equal(sample_run(run, 100, method="midpoint", steps=4, seed=3).x, exported.sample(100, seed=3))


def test_class_conditional_export_samples_like_the_run(runs, tmp_path):
    for args in (["--class", "3", "--guidance", "2"], ["--class", "all"], []):
        cli("sample", runs / "digits", "--n", "20", "--steps", "2", "--out", tmp_path / "a.npy", *args, check=True)
        cli("sample", runs / "digits-export", "--n", "20", "--steps", "2", "--out", tmp_path / "b.npy", *args, check=True)
        assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes(), args


def test_eval_and_likelihood_of_an_export_equal_the_runs(runs):
    for cmd in (["eval", "--n", "200", "--steps", "2"], ["likelihood", "--n", "50", "--solver", "rk4", "--steps", "4"]):
        a = json.loads(cli(cmd[0], runs / "moons", *cmd[1:], check=True).stdout)
        b = json.loads(cli(cmd[0], runs / "moons-export", *cmd[1:], check=True).stdout)
        a.pop("seconds", None), b.pop("seconds", None)
        assert a == b, cmd


def test_from_pretrained_is_lazy_top_level_and_keeps_the_mixin_conventions(runs, tmp_path):
    model = flowmatch.from_pretrained(str(runs / "moons-export"))
    assert isinstance(model, flowmatch.Run) and isinstance(model, flowmatch.Pretrained)
    x = model.sample(50, steps=2)
    out = model.save_pretrained(tmp_path / "again")
    again = flowmatch.Pretrained.from_pretrained(out)
    assert torch.equal(again.sample(50, steps=2), x)
    assert (out / "README.md").read_text() == (runs / "moons-export" / "README.md").read_text()
    with pytest.raises(FlowmatchError, match="not empty"):
        model.save_pretrained(out)
    # a run directory loads the same way (EMA weights)
    assert torch.equal(from_pretrained(runs / "moons").sample(50, steps=2), x)


def test_trained_weights_on_request(runs, tmp_path):
    r = cli("export", runs / "moons", "--out", tmp_path / "raw", "--weights", "model", "--no-eval", check=True)
    assert json.loads(r.stdout)["weights"] == "model"
    raw, ema = load_model(tmp_path / "raw"), load_model(runs / "moons-export")
    assert not torch.equal(raw.sample(20), ema.sample(20))
    assert torch.equal(raw.sample(20), sample_run(load_run(runs / "moons", use_ema=False), 20, method="midpoint", steps=4).x)


def test_export_refuses_a_non_empty_out_and_accepts_an_empty_one(runs, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    fails_cleanly(cli("export", runs / "moons", "--out", tmp_path / "full", "--no-eval"), "not empty")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    fails_cleanly(cli("export", runs / "moons", "--out", tmp_path / "full" / "keep.txt", "--no-eval"), "is a file")
    fails_cleanly(cli("export", runs / "moons-export", "--out", tmp_path / "x", "--no-eval"), "no checkpoint.pt")
    (tmp_path / "empty").mkdir()
    cli("export", runs / "moons", "--out", tmp_path / "empty", "--no-eval", check=True)
    assert (tmp_path / "empty" / "model.safetensors").is_file()


def test_a_damaged_export_is_one_line(runs, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(runs / "moons-export", bad)
    (bad / "model.safetensors").write_bytes(b"\x80\x04not safetensors")
    fails_cleanly(cli("sample", bad, "--out", tmp_path / "s.npy"), "corrupt weights file")
    shutil.copyfile(runs / "two-export" / "model.safetensors", bad / "model.safetensors")
    meta = json.loads((runs / "moons-export" / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**meta, "model_options": {"hidden": 16, "depth": 2}}))
    fails_cleanly(cli("sample", bad, "--out", tmp_path / "s.npy"), "do not match its config")
    (bad / "config.json").write_text(json.dumps({**meta, "library_name": "other"}))
    fails_cleanly(cli("sample", bad, "--out", tmp_path / "s.npy"), "not a flowmatch export")
    (bad / "config.json").write_text(json.dumps({**meta, "format_version": 99}))
    fails_cleanly(cli("sample", bad, "--out", tmp_path / "s.npy"), "format_version")


def test_the_derived_command_rebuilds_the_runs_config(runs):
    from flowmatch.cli import build_parser
    from flowmatch.cli.common import given
    from flowmatch.hub.card import NOT_RESULTS, train_command
    from flowmatch.options import build
    from flowmatch.training import TrainConfig

    for name in ("moons", "two", "digits"):
        config = load_run(runs / name).config
        argv = shlex.split(train_command(config))[1:]
        rebuilt = build(TrainConfig, given(build_parser().parse_args(argv), TrainConfig))
        for key in config.__dataclass_fields__:
            if key not in NOT_RESULTS:
                assert getattr(rebuilt, key) == getattr(config, key), (name, key)
    # a switch the image preset turns on, off in this run: the command must say so
    digits = load_run(runs / "digits").config
    assert "--no-budget-schedule" in shlex.split(train_command(digits.replace(budget_schedule=False)))
    assert "budget-schedule" not in train_command(load_run(runs / "moons").config)


def test_hub_ids_offline_are_one_line(runs, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    fails_cleanly(cli("sample", "hf:someone/flowmatch-moons", "--out", tmp_path / "s.png"), "cannot fetch someone/flowmatch-moons")
    fails_cleanly(cli("eval", "hf:not an id"), "not a Hugging Face Hub model id")
    with pytest.raises(FlowmatchError, match="cannot fetch someone/flowmatch-moons"):
        from_pretrained("someone/flowmatch-moons")  # a bare id that is no local path goes to the Hub
    # on the command line a bare OWNER/NAME is a local path only: a typo never becomes a request
    fails_cleanly(cli("sample", "someone/flowmatch-moons", "--out", tmp_path / "s.png"), "run directory not found")
    r = cli("export", runs / "moons", "--out", tmp_path / "pushed", "--no-eval", "--push-to-hub", "someone/flowmatch-moons")
    fails_cleanly(r, "cannot push to someone/flowmatch-moons", "is kept")
    assert (tmp_path / "pushed" / "model.safetensors").is_file()


def test_without_huggingface_hub_the_hub_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # `import huggingface_hub` fails
    fails_cleanly(cli("sample", "hf:someone/x", "--out", tmp_path / "s.png"), "pip install 'flowmatch[hub]'")


def test_export_run_api_summary(runs, tmp_path):
    s = export_run(runs / "moons", tmp_path / "api", n_eval=100, eval_draws=1, eval_steps=(1,), name="pretrained:toy", description="A toy.")
    assert s["weights"] == "ema" and s["w2"][0]["nfe"] == 2 and s["noise_floor"] > 0
    card = (tmp_path / "api" / "README.md").read_text()
    assert "# pretrained:toy" in card and "A toy." in card and "flowmatch sample pretrained:toy" in card
