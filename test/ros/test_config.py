"""Shipped parameter presets, KITTI calibration, Fast DDS profile and launch file."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml

from depth_completion_ros.io.kitti_calib import read_object_calib
from depth_completion_ros.models.registry import list_models
from depth_completion_ros.paths import CONFIG_DIR
from depth_completion_ros.ros.params import NodeSettings, check_settings

NODE_PRESETS = sorted(p for p in CONFIG_DIR.glob("*.yaml"))
MODEL_NAMES = [m.name for m in list_models()]


def _params(path):
    return yaml.safe_load(path.read_text())["/**"]["ros__parameters"]


def test_kitti_yaml_holds_the_sample_calibration_in_ros_convention(sample_dir):
    calib = read_object_calib(sample_dir / "calib.txt")
    P2 = calib.P_rect[2]
    shift = np.eye(4)
    shift[:3, 3] = np.linalg.solve(P2[:, :3], P2[:, 3])
    expected = shift @ calib.lidar_to_camera()
    got = np.asarray(_params(CONFIG_DIR / "kitti.yaml")["lidar_to_camera"]).reshape(4, 4)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # [K2 | 0] @ T projects like the KITTI chain P2 @ R0_rect @ Tr_velo_to_cam
    pts = np.array([[10.0, 2.0, -1.0, 1.0], [30.0, -5.0, 0.5, 1.0]]).T
    ros = np.hstack([P2[:, :3], np.zeros((3, 1))]) @ got @ pts
    np.testing.assert_allclose(ros, calib.projection(2) @ pts, rtol=1e-9)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_registered_model_has_a_node_preset(name):
    assert _params(CONFIG_DIR / f"{name}.yaml")["model"] == name


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_node_presets_hold_only_what_differs_from_the_defaults(name):
    """Besides ``model`` (the preset's name), every key is a node parameter off its default."""
    values = _params(CONFIG_DIR / f"{name}.yaml")
    defaults = NodeSettings().to_parameters()
    assert set(values) <= set(defaults), sorted(set(values) - set(defaults))
    at_default = sorted(k for k, v in values.items() if k != "model" and v == defaults[k])
    assert not at_default, f"{name}.yaml lists parameters at their default: {at_default}"


@pytest.mark.parametrize("path", NODE_PRESETS, ids=lambda p: p.name)
def test_presets_are_valid_and_typed(path):
    values = _params(path)
    settings = NodeSettings.from_mapping(values)  # unknown keys raise
    assert check_settings(settings, MODEL_NAMES) is None
    defaults = NodeSettings().to_parameters()
    for key, value in values.items():
        if key != "lidar_to_camera":  # ROS parameters are strictly typed: 80 is not 80.0
            assert type(value) is type(defaults[key]), (path.name, key, value)


def test_fastdds_profile_adds_32mb_shm_next_to_udp():
    root = ET.parse(CONFIG_DIR / "fastdds_shm.xml").getroot()
    ns = {"d": "http://www.eprosima.com"}
    transports = {t.findtext("d:transport_id", namespaces=ns): t
                  for t in root.iterfind(".//d:transport_descriptor", ns)}
    types = {tid: t.findtext("d:type", namespaces=ns) for tid, t in transports.items()}
    assert sorted(types.values()) == ["SHM", "UDPv4"]
    shm = next(t for t in transports.values() if t.findtext("d:type", namespaces=ns) == "SHM")
    assert int(shm.findtext("d:segment_size", namespaces=ns)) == 32 * 1024 * 1024
    participant = root.find(".//d:participant", ns)
    assert participant.get("is_default_profile") == "true"
    assert participant.findtext(".//d:useBuiltinTransports", namespaces=ns) == "false"
    used = [e.text for e in participant.iterfind(".//d:userTransports/d:transport_id", ns)]
    assert sorted(used) == sorted(transports)
