"""The training config: sections and keys checked, overrides by dotted path, values validated."""
from __future__ import annotations

from pathlib import Path

import pytest

from depth_completion_ros.errors import ConfigError, ModelError
from depth_completion_ros.paths import CONFIG_DIR
from depth_completion_ros.training.config import config_from_mapping, load_config

BASE = {"model": {"name": "cspn", "variant": "small"},
        "data": {"train": [{"kind": "kitti_raw", "path": "drive"}]}}


def build(overrides=None, **sections):
    return config_from_mapping({**BASE, **sections}, overrides)


def test_defaults_and_variant():
    cfg = build()
    assert cfg.model_config()["backbone_depth"] == 18 and cfg.model_config()["width"] == 16
    assert cfg.data.lines == (32, 16, 8, 4) and cfg.optim.accumulate == 1


def test_overrides_by_dotted_path():
    cfg = build({"run.max_steps": 3, "model.config.prop_time": 5, "data.lines": [16, 8],
                 "optim.lr": 1})
    assert cfg.run.max_steps == 3 and cfg.data.lines == (16, 8) and cfg.optim.lr == 1.0
    assert cfg.model_config()["prop_time"] == 5


def test_round_trip_through_plain_values():
    cfg = build({"model.config.width": 32})
    assert config_from_mapping(cfg.as_dict()) == cfg


@pytest.mark.parametrize(("sections", "overrides", "words"), [
    ({"optimizer": {}}, None, "unknown section(s) ['optimizer']"),
    ({"run": {"max_step": 3}}, None, "unknown key(s) ['max_step']"),
    ({}, {"run.maxsteps": 3}, "unknown key(s) ['maxsteps']"),
    ({}, {"model.config.widht": 32}, "unknown key(s) ['widht']"),
    ({}, {"steps": 3}, "expected SECTION.KEY"),
    ({}, {"run.max_steps.x": 3}, "only model.config.KEY"),
    ({"data": {"train": [{"kind": "kitti_raw", "path": "d", "extra": 1}]}}, None,
     "unknown key(s) ['extra']"),
    ({"data": {"train": [{"kind": "rosbag", "path": "d"}]}}, None, "source kind"),
    ({"data": {"train": [{"kind": "kitti_raw"}]}}, None, "needs a path"),
    ({"data": {"train": [{"kind": "kitti_dc", "path": "d"}]}}, None, "needs raw"),
    ({"data": {"train": []}}, None, "lists no source"),
    ({}, {"data.lines": [64]}, "data.lines"),
    ({}, {"data.lines": []}, "data.lines"),
    ({}, {"validation.lines": [3]}, "validation.lines"),
    ({}, {"run.max_steps": 0}, "max_steps"),
    ({}, {"run.max_steps": "many"}, "expected int"),
    ({}, {"run.max_steps": 2.5}, "expected int"),
    ({}, {"optim.lr": -1}, "lr must be > 0"),
    ({}, {"optim.accumulate": 0}, "accumulate"),
    ({}, {"loss.kind": "huber"}, "loss.kind"),
    ({}, {"schedule.kind": "linear"}, "schedule.kind"),
    ({}, {"run.device": "tpu"}, "run.device"),
    ({}, {"data.flip_probability": 2}, "flip_probability"),
    ({}, {"data.zoom": "both"}, "data.zoom must be one of"),
    ({}, {"model.variant": "huge"}, "model.variant"),
    ({}, {"model.config.width": 30}, "multiple of 4"),
    ({"model": {"name": "classical"}}, None, "learned model"),
    ({}, {"data.lines": [0, 16]}, "need a model that runs without LiDAR"),
    ({}, {"validation.lines": [0]}, "need a model that runs without LiDAR"),
    ({}, {"loss.uncertainty_weight": -1}, "uncertainty_weight"),
])
def test_bad_config_raises_naming_it(sections, overrides, words):
    with pytest.raises(ConfigError) as err:
        build(overrides, **sections)
    assert words in str(err.value)


def test_unknown_model_name_lists_models():
    with pytest.raises(ModelError, match="registered models"):
        build(model={"name": "nosuchnet"})


def test_shipped_config_reads(tmp_path: Path):
    cfg = load_config(CONFIG_DIR / "train" / "cspn_small_selfsup.yaml", {"run.max_steps": 3})
    assert cfg.model.name == "cspn" and cfg.run.max_steps == 3
    assert [s.kind for s in cfg.data.train] == ["kitti_raw", "kitti_object"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read training config"):
        load_config(bad)


def test_san_takes_prediction_samples_and_its_recipe_reads():
    cfg = load_config(CONFIG_DIR / "train" / "san_small_selfsup.yaml", {"run.max_steps": 3})
    assert cfg.model.name == "san" and 0 in cfg.data.lines and 0 in cfg.validation.lines
    assert cfg.loss.uncertainty_weight > 0
    assert cfg.model_config()["backbone"] == "resnet"
