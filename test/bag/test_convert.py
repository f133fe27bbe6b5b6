"""KITTI -> rosbag2 conversion: write into tmp_path, read back, compare exactly."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.bag.convert import (
    ASSUMED_PERIOD_NS,
    ASSUMED_START_NS,
    convert_kitti,
    ros_lidar_to_camera,
)
from depth_completion_ros.bag.messages import stamp_to_ns
from depth_completion_ros.bag.reading import custom_metadata, iter_messages, lidar_to_camera_from_tf
from depth_completion_ros.bag.topics import STAMPS_KEY, camera_frame, kitti_topics
from depth_completion_ros.decoding import camera_info_fields, cloud_to_points, image_to_rgb
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_raw import open_sequence, read_timestamps

TOPICS = kitti_topics(2)


def _decoded(bag: Path, topic: str) -> list:
    return [(m.log_time_ns, m.decode()) for m in iter_messages(bag, [topic])]


@pytest.fixture(scope="module")
def sample_bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    bag = tmp_path_factory.mktemp("bags") / "sample"
    convert_kitti(sample_dir, bag)
    return bag


def test_images_and_clouds_round_trip_exactly(sample_bag: Path, sample_dir: Path) -> None:
    frames = list(open_sequence(sample_dir))
    images = _decoded(sample_bag, TOPICS.image)
    clouds = _decoded(sample_bag, TOPICS.points)
    assert len(images) == len(clouds) == len(frames) == 4
    for frame, (_, image), (_, cloud) in zip(frames, images, clouds):
        assert image.encoding == "rgb8" and image.header.frame_id == camera_frame(2)
        np.testing.assert_array_equal(image_to_rgb(image), frame.image)
        decoded = cloud_to_points(cloud)
        np.testing.assert_array_equal(decoded.xyz, frame.points[:, :3])
        np.testing.assert_array_equal(decoded.intensity, frame.points[:, 3])
        np.testing.assert_array_equal(decoded.ring, estimate_rings(frame.points))
        assert cloud.header.frame_id == "velo_link"


def test_sample_gets_10hz_stamps_said_in_metadata(sample_bag: Path) -> None:
    expected = [ASSUMED_START_NS + i * ASSUMED_PERIOD_NS for i in range(4)]
    for topic in (TOPICS.image, TOPICS.camera_info, TOPICS.points):
        got = _decoded(sample_bag, topic)
        assert [t for t, _ in got] == expected
        assert [stamp_to_ns(m.header.stamp) for _, m in got] == expected
    assert "10 Hz assumed" in custom_metadata(sample_bag)[STAMPS_KEY]


def test_camera_info_is_rectified_and_tf_reproduces_p2(sample_bag: Path, sample_dir: Path) -> None:
    calib = open_sequence(sample_dir).calibration
    _, info = _decoded(sample_bag, TOPICS.camera_info)[0]
    fields = camera_info_fields(info)
    P2 = calib.P_rect[2]
    np.testing.assert_array_equal(fields["k"].reshape(3, 3), P2[:, :3])
    np.testing.assert_array_equal(fields["p"].reshape(3, 4)[:, 3], 0.0)
    np.testing.assert_array_equal(fields["r"], np.eye(3).ravel())
    assert (fields["width"], fields["height"]) == (1242, 375)
    T = lidar_to_camera_from_tf(sample_bag, "velo_link", camera_frame(2))
    ros = np.hstack([P2[:, :3], np.zeros((3, 1))]) @ T
    kitti = calib.projection(2)
    np.testing.assert_allclose(ros, kitti, rtol=0, atol=1e-6 * np.abs(kitti).max())
    np.testing.assert_allclose(ros_lidar_to_camera(calib, 2), T, atol=1e-6)


def test_sqlite3_storage_holds_the_same_messages(tmp_path: Path, sample_dir: Path,
                                                 sample_bag: Path) -> None:
    bag = tmp_path / "sqlite"
    convert_kitti(sample_dir, bag, storage="sqlite3", max_frames=2)
    assert list(bag.glob("*.db3"))
    raw = [m.raw for m in iter_messages(bag, [TOPICS.points])]
    reference = [m.raw for m in iter_messages(sample_bag, [TOPICS.points])][:2]
    assert raw == reference


def test_official_layout_keeps_real_distinct_stamps(tmp_path: Path, drive0009_dir: Path) -> None:
    summary = convert_kitti(drive0009_dir, tmp_path / "d9", max_frames=3)
    assert summary.real_stamps and summary.frames == 3
    drive = next(drive0009_dir.glob("*/*_sync"))
    cam = read_timestamps(drive / "image_02" / "timestamps.txt")[:3].tolist()
    lidar = read_timestamps(drive / "velodyne_points" / "timestamps.txt")[:3].tolist()
    assert [t for t, _ in _decoded(tmp_path / "d9", TOPICS.image)] == cam
    assert [stamp_to_ns(m.header.stamp) for _, m in _decoded(tmp_path / "d9", TOPICS.points)] \
        == lidar
    assert cam != lidar
    assert "10 Hz" not in custom_metadata(tmp_path / "d9")[STAMPS_KEY]


@pytest.mark.parametrize("kwargs", [{"storage": "rosbag1"}, {"camera": 1}, {"max_frames": 0}])
def test_bad_options_raise_input_error(tmp_path: Path, sample_dir: Path, kwargs: dict) -> None:
    with pytest.raises(InputError):
        convert_kitti(sample_dir, tmp_path / "bag", **kwargs)


def test_existing_output_is_not_overwritten(tmp_path: Path, sample_dir: Path) -> None:
    (tmp_path / "bag").mkdir()
    with pytest.raises(InputError, match="exists"):
        convert_kitti(sample_dir, tmp_path / "bag")
