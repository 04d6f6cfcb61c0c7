"""Config files: precedence of layers, and one-line errors for bad saved configs."""

import pytest

from flowmatch.config import build_config, load_config, save_config
from flowmatch.errors import FlowmatchError
from flowmatch.training import TrainConfig


def test_layers_override_in_order_and_round_trip(tmp_path):
    cfg = build_config(TrainConfig, {"steps": 10, "data": "circles"}, {"steps": 12})
    assert (cfg.steps, cfg.data) == (12, "circles")
    save_config(cfg, tmp_path / "config.json")
    assert load_config(TrainConfig, tmp_path / "config.json") == cfg
    with pytest.raises(FlowmatchError, match="unknown option 'stepz'"):
        build_config(TrainConfig, {"stepz": 3})


@pytest.mark.parametrize("content,match", [(None, "no config.json"), ("{not json", "corrupt config file"), ("[1, 2]", "must hold a JSON object")])
def test_bad_saved_config_is_one_line_error(tmp_path, content, match):
    if content is not None:
        (tmp_path / "config.json").write_text(content)
    with pytest.raises(FlowmatchError, match=match):
        load_config(TrainConfig, tmp_path / "config.json")
