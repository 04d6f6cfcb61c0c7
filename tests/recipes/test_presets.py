"""Presets: every preset is valid options; the CIFAR-10 presets train for a few steps on generated
data; image data get the image defaults, and the few-step recipe on images is the labelled chain (one MeanFlow
run with --objective meanflow)."""

import json

import pytest
import torch

from flowmatch.options import build
from flowmatch.recipes import IMAGE_DISTILL
from flowmatch.runs import load_run, recommended_sampler, sample_run
from flowmatch.runs.pairs import load_pairs
from flowmatch.training import TrainConfig
from flowmatch.training.presets import PRESETS, load_preset
from helpers import cli, make_cifar_dir


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_is_a_valid_config(name):
    config = build(TrainConfig, load_preset("images") if name.startswith("images-") else {}, load_preset(name))
    assert config.model == "unet"


@pytest.mark.parametrize("name", ["cifar10", "cifar10-few-step"])
def test_cifar10_presets_train_a_few_steps_on_generated_data(tmp_path, name):
    make_cifar_dir(tmp_path / "data", per_batch=4)
    run = tmp_path / name
    res = cli(
        "train", "--preset", name, "--data-dir", tmp_path / "data", "--out", run, "--steps", "2", "--batch-size", "4", "--channels", "16", "--warmup-steps", "1", "--sample-every", "0", "--no-progress"
    )
    assert res.returncode == 0, res.stderr
    saved = json.loads((run / "config.json").read_text())
    assert saved["channel_mults"] == "1,2,2,2" and saved["num_res_blocks"] == 2 and saved["lr"] == 2e-4 and saved["ema_decay"] == 0.9999
    assert saved["objective"] == ("meanflow" if name == "cifar10-few-step" else "fm")
    x = sample_run(load_run(run), 2, method="meanflow" if name == "cifar10-few-step" else "euler", steps=1).x
    assert x.shape == (2, 3, 32, 32)


def test_image_data_get_the_image_defaults_and_flags_still_win(tmp_path):
    assert cli("train", "--data", "digits", "--out", tmp_path / "a", "--steps", "1", "--channels", "8", "--no-progress").returncode == 0
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    images = load_preset("images")
    assert saved["model"] == "unet" and saved["batch_size"] == images["batch_size"] and saved["patch_size"] == images["patch_size"] and saved["channels"] == 8
    assert saved["budget_schedule"] is True
    # a boolean a preset turns on, a flag turns off
    assert cli("train", "--data", "digits", "--out", tmp_path / "c", "--steps", "1", "--channels", "8", "--no-progress", "--no-budget-schedule").returncode == 0
    assert json.loads((tmp_path / "c" / "config.json").read_text())["budget_schedule"] is False
    assert cli("train", "--data", "moons", "--out", tmp_path / "b", "--steps", "1", "--no-progress").returncode == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text())["model"] == "mlp"


def test_few_step_recipe_on_images_is_the_labelled_chain_and_meanflow_on_request(tmp_path):
    common = ("--data", "digits", "--recipe", "few-step", "--steps", "4", "--channels", "8", "--no-progress")
    res = cli("train", *common, "--out", tmp_path / "r", "--distill-steps", "3", "--reflow-pairs", "64")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert [s["stage"] for s in summary["stages"]] == ["base", "distill"]
    run = load_run(tmp_path / "r")
    # images: flow-map distillation, an average-velocity model sampled with its own step
    assert run.config.objective == "flowmap" and recommended_sampler(run.config, guided=True).method == "meanflow" and run.config.cond_drop == 0.5
    assert not run.config.budget_schedule  # the chain keeps its schedules (measured: no better students)
    assert load_run(tmp_path / "r" / "base").config.ot_block == 64  # OT within each batch of 64 images, no pools
    recipe = json.loads((tmp_path / "r" / "recipe.json").read_text())["recipe"]
    assert {k: recipe[k] for k in IMAGE_DISTILL} == IMAGE_DISTILL
    base_lr, student_lr = (load_run(tmp_path / "r" / stage).config.lr for stage in ("base", "distill"))
    assert student_lr == pytest.approx(base_lr * IMAGE_DISTILL["distill_lr_scale"])  # the image student's own rate
    pairs = load_pairs(tmp_path / "r" / "distill" / "pairs.pt")
    assert pairs.states.shape == (IMAGE_DISTILL["solver_steps"] + 1, 64, 1, 8, 8) and pairs.states.dtype == torch.float16
    res = cli("train", *common, "--out", tmp_path / "f", "--distill-steps", "3", "--reflow-pairs", "64", "--distill-objective", "fm", "--distill-null-fraction", "0.9")
    assert res.returncode == 0 and load_run(tmp_path / "f").config.objective == "fm", res.stderr
    # a stage flag overrides the image chain's own value, and the others keep theirs
    recipe = json.loads((tmp_path / "f" / "recipe.json").read_text())["recipe"]
    assert recipe["distill_null_fraction"] == 0.9 and recipe["distill_path_share"] == IMAGE_DISTILL["distill_path_share"]
    out = cli("sample", tmp_path / "r", "--n", "10", "--class", "3", "--guidance", "2", "--steps", "1", "--out", tmp_path / "s.npy")
    assert out.returncode == 0 and json.loads(out.stdout)["nfe"] == 1, out.stderr  # guided: one pass of 2B
    res = cli("train", *common, "--objective", "meanflow", "--out", tmp_path / "m")
    assert res.returncode == 0, res.stderr
    assert [s["stage"] for s in json.loads(res.stdout)["stages"]] == ["meanflow"]
    run = load_run(tmp_path / "m")
    assert run.config.objective == "meanflow" and recommended_sampler(run.config).method == "meanflow"
    out = cli("sample", tmp_path / "m", "--n", "10", "--class", "3", "--guidance", "2", "--steps", "1", "--out", tmp_path / "t.npy")
    assert out.returncode == 0, out.stderr
