"""Every command, the Python API and the model card decide alike: one config for the same
request, one recommended sampler for the same model, images in [-1, 1] everywhere."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import flowmatch
from flowmatch.runs import train
from flowmatch.training import TrainConfig
from helpers import cli

TINY_IMAGES = ("--steps", "2", "--channels", "8", "--channel-mults", "1", "--batch-size", "8", "--no-progress")


def test_the_api_and_the_command_line_write_the_same_config_for_image_data(tmp_path):
    a, b = tmp_path / "cli", tmp_path / "api"
    cli("train", "--data", "digits", "--out", a, *TINY_IMAGES, check=True)
    train(TrainConfig(data="digits", out=str(b), steps=2, channels=8, channel_mults="1", batch_size=8, progress=False))
    got = {p: json.loads((p / "config.json").read_text()) for p in (a, b)}
    assert got[a]["model"] == "unet" and got[a]["ema_decay"] == 0.995  # the image preset's
    got[a].pop("out"), got[b].pop("out")
    assert got[a] == got[b]


def test_the_image_preset_never_overrides_what_is_given():
    assert TrainConfig(data="digits").model == "unet"
    assert TrainConfig(data="digits", model="simple-cnn", batch_size=256).batch_size == 256
    assert TrainConfig(data="moons").model == "mlp"


def test_pretrained_sample_and_the_command_line_agree_and_images_stay_in_range(tmp_path):
    model = flowmatch.from_pretrained("pretrained:mnist")
    x = model.sample(8, y=torch.arange(8), guidance=2.0)
    assert x.shape == (8, 1, 28, 28) and float(x.min()) >= -1 and float(x.max()) <= 1
    r = cli("sample", "pretrained:mnist", "--n", "8", "--class", "3", "--guidance", "2", "--out", tmp_path / "x.npy", check=True)
    record = json.loads(r.stdout)
    card = json.loads((model.folder / "config.json").read_text())["recommended"]
    assert (record["solver"], record["steps"]) == (card["solver"], card["steps"])
    saved = np.load(tmp_path / "x.npy")
    assert saved.min() >= -1 and saved.max() <= 1


def test_sample_and_eval_use_the_recommended_sampler_of_a_one_step_model(tmp_path):
    # pretrained:moons is a one-step flow: its card recommends Euler with one step
    r = json.loads(cli("eval", "pretrained:moons", "--n", "200", "--metrics", "w2", check=True).stdout)
    assert (r["solver"], r["steps"], r["nfe"]) == ("euler", 1, 1)
    s = json.loads(cli("sample", "pretrained:moons", "--n", "200", "--out", tmp_path / "x.npy", check=True).stdout)
    assert (s["solver"], s["steps"], s["nfe"]) == ("euler", 1, 1)


@pytest.mark.parametrize("lam", [0.05, 0.3, 1.0])
def test_density_guidance_at_its_default_sampler_raises_the_samples_model_log_density_or_refuses(lam):
    from flowmatch.errors import FlowmatchError
    from flowmatch.runs import run_log_likelihood, sample_run

    run = flowmatch.from_pretrained("pretrained:moons")
    plain = sample_run(run, 200, method="rk4", steps=16, seed=0)
    try:
        guided = sample_run(run, 200, seed=0, density_guidance=lam)
    except FlowmatchError as exc:
        assert "smaller --density-guidance" in str(exc)
        return
    assert (guided.method, guided.steps) == ("rk4", 16)
    # measured apart from the check, by the adaptive solver
    logp = [float(run_log_likelihood(run, s.x).log_likelihood.mean()) for s in (plain, guided)]
    assert logp[1] > logp[0]


def test_density_guidance_that_scatters_the_samples_is_refused_in_one_line(tmp_path):
    r = cli("sample", "pretrained:moons", "--n", "200", "--density-guidance", "3", "--out", tmp_path / "g.npy")
    assert r.returncode == 2 and r.stderr.startswith("error: density guidance 3 lowered") and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "g.npy").exists()
