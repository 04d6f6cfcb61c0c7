"""Config files: precedence of layers, and one-line errors for bad saved configs."""

import pytest

from flowmatch.errors import FlowmatchError
from flowmatch.options import build
from flowmatch.runs import load_config, read_config_file, save_config
from flowmatch.training import TrainConfig


def test_layers_override_in_order_and_round_trip(tmp_path):
    cfg = build(TrainConfig, {"steps": 10, "data": "circles"}, {"steps": 12})
    assert (cfg.steps, cfg.data) == (12, "circles")
    save_config(cfg, tmp_path / "config.json")
    assert load_config(tmp_path / "config.json") == cfg
    with pytest.raises(FlowmatchError, match="unknown option 'stepz'"):
        build(TrainConfig, {"stepz": 3})


@pytest.mark.parametrize("content,match", [(None, "no config.json"), ("{not json", "corrupt config file"), ("[1, 2]", "must hold a JSON object")])
def test_bad_saved_config_is_one_line_error(tmp_path, content, match):
    if content is not None:
        (tmp_path / "config.json").write_text(content)
    with pytest.raises(FlowmatchError, match=match):
        load_config(tmp_path / "config.json")


@pytest.mark.parametrize(
    "content,match",
    [
        ('{"steps": 1.5}', "steps"),
        ('{"steps": true}', "steps"),
        ('{"stepz": 3}', "stepz"),
        ('{"path": "condot", "sigma_max": 3.0}', "sigma_max"),
    ],
)
def test_a_saved_config_with_a_bad_key_or_value_names_the_key(tmp_path, content, match):
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(FlowmatchError, match=match) as err:
        load_config(tmp_path / "config.json")
    assert "\n" not in str(err.value) and "config.json" in str(err.value)


def test_config_files_in_three_formats_read_the_same(tmp_path):
    (tmp_path / "c.toml").write_text('data = "circles"\nbatch-size = 16\n')
    (tmp_path / "c.yaml").write_text("data: circles\nbatch-size: 16\n")
    (tmp_path / "c.json").write_text('{"data": "circles", "batch_size": 16}')
    for name in ("c.toml", "c.yaml", "c.json"):
        assert read_config_file(tmp_path / name) == {"data": "circles", "batch_size": 16}, name
    (tmp_path / "c.ini").write_text("")
    with pytest.raises(FlowmatchError, match=r"\.toml, \.yaml"):
        read_config_file(tmp_path / "c.ini")
