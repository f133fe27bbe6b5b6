"""The launch file, run against small stand-ins for launch / launch_ros (not pip-installable).

The stand-ins record what the launch file builds, so the tests check the node it would start:
preset and parameter files in order, remappings, namespace and the Fast DDS profile variable.
"""
from __future__ import annotations

import importlib.util
import sys
import types

import pytest

from depth_completion_ros.paths import CONFIG_DIR, REPO_ROOT

LAUNCH_FILE = REPO_ROOT / "launch" / "depth_completion.launch.py"


class Recorded:
    """Any launch action: keeps its arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration:
    def __init__(self, name):
        self.name = name

    def perform(self, context):
        return context[self.name]


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


@pytest.fixture
def launch_file(monkeypatch, tmp_path):
    """The launch file's module, loaded with stand-ins; the package share is the repo root."""
    stubs = {
        "launch": _module("launch", LaunchDescription=lambda entities: list(entities)),
        "launch.actions": _module("launch.actions", DeclareLaunchArgument=Recorded,
                                  OpaqueFunction=Recorded, SetEnvironmentVariable=Recorded),
        "launch.substitutions": _module("launch.substitutions",
                                        LaunchConfiguration=LaunchConfiguration),
        "launch_ros": _module("launch_ros"),
        "launch_ros.actions": _module("launch_ros.actions", Node=Recorded),
        "ament_index_python.packages": _module(
            "ament_index_python.packages", get_package_share_directory=lambda _: str(REPO_ROOT)),
    }
    for name, module in stubs.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    spec = importlib.util.spec_from_file_location("depth_completion_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _launch(module, **overrides):
    """(declared argument defaults, env actions, the Node action) for the given arguments."""
    entities = module.generate_launch_description()
    declared = {e.args[0]: e.kwargs["default_value"] for e in entities
                if "default_value" in e.kwargs}
    context = {**declared, **overrides}
    opaque = next(e for e in entities if "function" in e.kwargs)
    (node,) = opaque.kwargs["function"](context)
    env = [e.args for e in entities if len(e.args) == 2]
    return declared, env, node


def test_defaults_start_the_classical_preset_with_no_calibration_file(launch_file):
    declared, env, node = _launch(launch_file)
    assert declared == {"preset": "classical", "params_file": "", "namespace": "",
                        "image": "image", "camera_info": "camera_info", "points": "points",
                        "image_transport": ""}
    assert node.kwargs["executable"] == "depth_completion_node"
    # no default extrinsic: a KITTI calibration on another vehicle would corrupt depth
    assert node.kwargs["parameters"] == [str(CONFIG_DIR / "classical.yaml")]
    assert env == [("FASTDDS_DEFAULT_PROFILES_FILE", str(CONFIG_DIR / "fastdds_shm.xml")),
                   ("RMW_FASTRTPS_USE_QOS_FROM_XML", "1")]


def test_params_file_loads_after_the_preset_and_topics_are_remapped(launch_file):
    kitti = str(CONFIG_DIR / "kitti.yaml")
    _, _, node = _launch(launch_file, preset="nearest", params_file=kitti,
                         image="/cam/image_raw", points="/velodyne_points")
    assert node.kwargs["parameters"] == [str(CONFIG_DIR / "nearest.yaml"), kitti]
    remaps = {src: dst.perform({"image": "/cam/image_raw", "camera_info": "camera_info",
                                "points": "/velodyne_points"})
              for src, dst in node.kwargs["remappings"]}
    assert remaps == {"image": "/cam/image_raw", "camera_info": "camera_info",
                      "points": "/velodyne_points"}


def test_image_transport_argument_is_the_last_parameter_source(launch_file):
    kitti = str(CONFIG_DIR / "kitti.yaml")
    _, _, node = _launch(launch_file, params_file=kitti, image_transport="compressed")
    assert node.kwargs["parameters"] == [str(CONFIG_DIR / "classical.yaml"), kitti,
                                         {"image_transport": "compressed"}]


def test_every_model_preset_is_launchable(launch_file):
    presets = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "kitti")
    assert {"classical", "ip_basic", "nearest"} <= set(presets)
    for preset in presets:
        _, _, node = _launch(launch_file, preset=preset)
        assert node.kwargs["parameters"] == [str(CONFIG_DIR / f"{preset}.yaml")]


def test_unknown_preset_is_refused_with_the_known_ones(launch_file):
    with pytest.raises(RuntimeError, match=r"preset 'no_such_model'.*'classical'"):
        _launch(launch_file, preset="no_such_model")


def test_an_exported_profile_is_kept(launch_file, monkeypatch):
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "/etc/my_profile.xml")
    _, env, _ = _launch(launch_file)
    assert env == [("FASTDDS_DEFAULT_PROFILES_FILE", "/etc/my_profile.xml")]  # and its QoS rules
