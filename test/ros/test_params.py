"""Node settings: typed mapping, and the reasons invalid combinations are rejected."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.ros.params import (
    MATRIX_PARAMETERS,
    PARAMETERS,
    NodeSettings,
    check_parameters,
    check_settings,
)

MODELS = ["classical", "nearest"]


def test_every_setting_is_declared_with_a_description():
    assert set(PARAMETERS) == set(NodeSettings().to_parameters())
    assert all(len(desc) > 10 for desc, _, _ in PARAMETERS.values())


def test_from_mapping_rejects_unknown_keys_and_reads_the_transform():
    with pytest.raises(ConfigError, match="modle"):
        NodeSettings.from_mapping({"modle": "classical"})
    s = NodeSettings.from_mapping({"lidar_to_camera": list(np.eye(4).reshape(-1)),
                                   "checkpoint": None})
    np.testing.assert_array_equal(s.transform(), np.eye(4))
    assert NodeSettings().transform() is None


@pytest.mark.parametrize("change, reason", [
    ({"model": "foo"}, "model: unknown model 'foo'; registered models: classical, nearest"),
    ({"stale_scan_max_age": 61.0}, "stale_scan_max_age: 61.0 is outside [0.0, 60.0]"),
    ({"stale_scan_max_age": -1.0}, "stale_scan_max_age: expected a finite value >= 0 s"),
    ({"stale_confidence_time_constant": 0.0},
     "stale_confidence_time_constant: expected a finite value > 0 s, got 0.0"),
    ({"lidar_to_base": (1.0, 2.0)},
     "lidar_to_base: expected 16 numbers (a 4x4 rigid transform), got shape (2,)"),
    ({"device": "tpu"}, "device: 'tpu' is not one of"),
    ({"engine": "tensorrt"}, "engine: 'tensorrt' is not one of ['torch', 'onnxruntime']"),
    ({"slop": 2.0}, "slop: 2.0 is outside [0.0, 1.0]"),
    ({"min_depth": 5.0, "max_depth": 4.0},
     "depth range: expected 0 <= min_depth < max_depth (finite metres), got [5.0, 4.0]"),
    ({"color_min_depth": 9.0, "color_max_depth": 1.0}, "color_min_depth 9.0 must be below"),
    ({"checkpoint": "no/such/file.pt"}, "checkpoint: file 'no/such/file.pt' does not exist"),
    ({"lidar_to_camera": (1.0, 2.0)},
     "lidar_to_camera: expected 16 numbers (a 4x4 rigid transform), got shape (2,)"),
    ({"lidar_to_camera": tuple([1.0] * 16)},
     "lidar_to_camera: expected last row [0, 0, 0, 1], got [1.0, 1.0, 1.0, 1.0]"),
    ({"lidar_to_camera": tuple(np.diag([2.0, 1, 1, 1]).reshape(-1))},
     "lidar_to_camera: expected a rotation in the upper-left 3x3"),
    ({"modle": "x"}, "node parameters: unknown ['modle']"),
    ({"input_qos": "fast"}, "input_qos: 'fast' is not one of"),
    ({"dropout_model": "nearest"}, "dropout_model: 'nearest' cannot run without LiDAR (it "
     "requires ['sparse_depth']); models that can: none"),
    ({"model_config": "/"}, "model_config: '/' is not a file"),
])
def test_invalid_settings_give_a_reason(change, reason):
    values = {**NodeSettings(model="classical").to_parameters(), **change}
    got = check_parameters(values, MODELS)
    assert got is not None and got.startswith(reason), got


@pytest.mark.parametrize("name", ["san", "none", ""])
def test_the_default_dropout_model_and_none_are_accepted(name):
    values = {**NodeSettings().to_parameters(), "dropout_model": name,
              "lidar_to_camera": list(np.eye(4).reshape(-1))}
    assert check_parameters(values, MODELS) is None


def test_a_dropout_model_not_registered_is_refused_naming_the_usable_ones():
    values = {**NodeSettings().to_parameters(), "dropout_model": "bar",
              "lidar_to_camera": list(np.eye(4).reshape(-1))}
    reason = check_parameters(values, [*MODELS, "san"])
    assert reason is not None and "'bar' is not a registered model" in reason
    assert "'san'" in reason


def test_dropout_settings_read_and_write_back():
    s = NodeSettings.from_mapping({"stale_scan_max_age": 0.7,
                                   "stale_confidence_time_constant": 1.5,
                                   "lidar_to_base": list(np.eye(4).reshape(-1))})
    assert (s.dropout.stale_scan_max_age, s.dropout.confidence_time_constant) == (0.7, 1.5)
    np.testing.assert_array_equal(s.base_transform(), np.eye(4))
    assert NodeSettings.from_mapping(s.to_parameters()) == s
    assert NodeSettings().dropout_model == "san" and NodeSettings().base_transform() is None


def test_valid_settings_pass(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    s = NodeSettings(model="nearest", checkpoint=str(weights),
                     lidar_to_camera=tuple(np.eye(4).reshape(-1)))
    assert check_settings(s, MODELS) is None


def test_the_parameter_table_of_docs_node_md_matches_the_declarations():
    """docs/node.md lists every parameter once, with the declared default and description."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "node.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0][1:-1] in PARAMETERS:
            rows[cells[0][1:-1]] = cells
    assert sorted(rows) == sorted(PARAMETERS)
    defaults = NodeSettings().to_parameters()
    for name, (_, default, _, description) in rows.items():
        expected = "unset" if name in MATRIX_PARAMETERS else f"`{defaults[name]!r}`"
        assert default == expected, name
        assert description.startswith(PARAMETERS[name][0]), name


def test_online_evaluation_builds_the_node_parameters_from_the_settings_type(tmp_path):
    """Every name it passes is a declared parameter, and the node reads back the same settings
    (a renamed NodeSettings field breaks this test, not silently the online evaluation)."""
    from types import SimpleNamespace

    from depth_completion_ros.ros.online_evaluation import node_parameters
    from depth_completion_ros.settings import PipelineSettings

    request = SimpleNamespace(model="nearest", dropout_model="", checkpoint=None, device="cpu",
                              precision="fp32", model_config={"confidence_scale_px": 9.0})
    pipeline = PipelineSettings(use_rectified=False, max_depth=60.0)
    params = node_parameters(request, np.eye(4), pipeline, tmp_path)
    assert set(params) <= set(PARAMETERS)
    settings = NodeSettings.from_mapping(params)
    assert settings.pipeline == pipeline and settings.model == "nearest"
    assert settings.device == "cpu" and settings.input_qos == "reliable"
    np.testing.assert_array_equal(settings.transform(), np.eye(4))
    assert check_parameters(params, MODELS) is None  # the preset names nearest: it validates


def test_online_evaluation_scales_the_node_sync_timeouts_with_the_replay_rate(tmp_path):
    """At ``--rate 0.125`` the node's clock timeouts are 8 times longer (it pairs as at real
    time, as the offline reference); a rate that pushes them out of range is refused."""
    from types import SimpleNamespace

    from depth_completion_ros.ros.online_evaluation import node_parameters
    from depth_completion_ros.settings import PipelineSettings

    request = SimpleNamespace(model="nearest", dropout_model="", checkpoint=None, device="cpu",
                              rate=0.125)
    settings = NodeSettings.from_mapping(node_parameters(request, np.eye(4), PipelineSettings(),
                                                         tmp_path))
    sync = settings.sync
    assert (sync.max_wait, sync.lidar_timeout, sync.image_timeout) == (0.8, 4.0, 4.0)
    assert sync.slop == PipelineSettings().sync.slop  # a difference of stamps: kept
    request.rate = 1.0
    assert "lidar_timeout" not in node_parameters(request, np.eye(4), PipelineSettings(),
                                                  tmp_path)
    request.rate = 0.05  # max_wait 2 s: beyond the parameter's [0, 1]
    with pytest.raises(ConfigError, match="replay rate 0.05.*max_wait"):
        node_parameters(request, np.eye(4), PipelineSettings(), tmp_path)


def test_lidar_to_camera_unset_needs_tf2():
    values = {**NodeSettings().to_parameters(), "lidar_to_camera": []}
    assert check_parameters(values, MODELS, tf2_available=True) is None
    reason = check_parameters(values, MODELS, tf2_available=False)
    assert reason is not None and reason.startswith(
        "lidar_to_camera: unset, and tf2_ros is not importable here"), reason
    values["lidar_to_camera"] = list(np.eye(4).reshape(-1))
    assert check_parameters(values, MODELS, tf2_available=False) is None


def test_a_binary_model_config_file_is_refused_with_a_reason(tmp_path):
    for name, content in (("binary.yaml", bytes(range(256))),
                          ("list.yaml", b"model: classical\nconfig: [1, 2]\n")):
        path = tmp_path / name
        path.write_bytes(content)
        values = {**NodeSettings().to_parameters(), "model_config": str(path)}
        reason = check_parameters(values, MODELS)
        assert reason is not None and reason.startswith("model_config: "), reason
