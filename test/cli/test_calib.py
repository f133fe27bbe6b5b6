"""``depth-completion calib BAG``: the bag's /tf_static as the node's ``lidar_to_camera``
parameter, ready to paste, reading back to the bag's transform (bag made from the embedded KITTI
sample: Geiger et al., IJRR 2013, CC BY-NC-SA 3.0)."""
from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
import yaml

from depth_completion_ros.bag.convert import convert_kitti
from depth_completion_ros.bag.reading import lidar_to_camera_from_tf
from depth_completion_ros.bag.topics import LIDAR_FRAME, camera_frame
from depth_completion_ros.cli.calib import float_text
from depth_completion_ros.cli.main import main


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("calib") / "bag"
    convert_kitti(sample_dir, out, max_frames=1)
    return out


def _printed(bag: Path, capsys: pytest.CaptureFixture, *extra: str) -> str:
    assert main(["calib", str(bag), *extra]) == 0
    return capsys.readouterr().out


def test_printed_parameter_reads_back_to_the_bags_transform(
        bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    expected = lidar_to_camera_from_tf(bag, LIDAR_FRAME, camera_frame(2))
    out = _printed(bag, capsys, "--params-file", str(tmp_path / "params.yaml"))
    snippet = "\n".join(line for line in out.splitlines()
                        if not line.startswith(("#", "--ros-args")))
    from_yaml = yaml.safe_load(snippet)["/**"]["ros__parameters"]["lidar_to_camera"]
    from_file = yaml.safe_load((tmp_path / "params.yaml").read_text())[
        "/**"]["ros__parameters"]["lidar_to_camera"]
    argument = shlex.split(next(line for line in out.splitlines()
                                if line.startswith("--ros-args")))
    assert argument[:2] == ["--ros-args", "-p"]
    name, value = argument[2].split(":=")
    from_args = yaml.safe_load(value)
    assert name == "lidar_to_camera"
    for values in (from_yaml, from_file, from_args):
        assert len(values) == 16 and all(isinstance(v, float) for v in values)
        np.testing.assert_allclose(np.reshape(values, (4, 4)), expected, rtol=0, atol=1e-9)
    assert f"'{LIDAR_FRAME}' -> '{camera_frame(2)}'" in out


def test_the_node_takes_both_forms(bag: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    """rcl's own parsers (params file and ``-p``) read them as a float64 array."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.context import Context

    expected = lidar_to_camera_from_tf(bag, LIDAR_FRAME, camera_frame(2))
    out = _printed(bag, capsys, "--params-file", str(tmp_path / "params.yaml"))
    argument = shlex.split(next(line for line in out.splitlines()
                                if line.startswith("--ros-args")))
    for args in (["--ros-args", "--params-file", str(tmp_path / "params.yaml")], argument):
        context = Context()
        rclpy.init(args=args, context=context)
        try:
            node = rclpy.create_node("calib_check", context=context,
                                     automatically_declare_parameters_from_overrides=True)
            value = node.get_parameter("lidar_to_camera").value
            node.destroy_node()
        finally:
            rclpy.shutdown(context=context)
        np.testing.assert_allclose(np.reshape(value, (4, 4)), expected, rtol=0, atol=1e-9)


def test_bag_without_tf_static_says_what_to_do(tmp_path: Path, sample_dir: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    convert_kitti(sample_dir, tmp_path / "bag", max_frames=1)
    assert main(["calib", str(tmp_path / "bag"), "--tf-topic", "/tf"]) == 2
    assert "has no /tf: no static transform to print" in capsys.readouterr().err


@pytest.mark.parametrize("value", [1.0, -0.0, 0.0002347735302972337, 1e-17, -1e300, 0.1 + 0.2])
def test_float_text_round_trips_as_a_yaml_float(value: float) -> None:
    text = float_text(value)
    assert "." in text and yaml.safe_load(text) == value
