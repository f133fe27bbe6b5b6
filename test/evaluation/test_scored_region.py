"""The scored region: KITTI's crop on KITTI-size images, the region the LiDAR covers on any other
camera, or the user's ``--crop``; the report says which and why.

The non-KITTI camera is a virtual 1920x1200 pinhole camera (fx = fy = 1000) at the optical centre
of KITTI's camera 2, looking the same way: the embedded sample's real points and images
(Geiger et al., IJRR 2013, CC BY-NC-SA 3.0) re-projected. Its image is KITTI's warped by the
homography ``K_virtual inv(K2)``, exact for a change of intrinsics alone (black outside KITTI's
field of view).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Writer

from depth_completion_ros.bag import messages
from depth_completion_ros.bag.convert import ros_lidar_to_camera
from depth_completion_ros.bag.topics import LIDAR_FRAME, camera_frame, kitti_topics
from depth_completion_ros.cli.main import main
from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation.region import (
    FULL_RULE,
    KITTI_RULE,
    LIDAR_RULE,
    USER_RULE,
    choose_region,
    is_kitti_size,
    user_region,
)
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_raw import open_sequence

WIDTH, HEIGHT, FOCAL = 1920, 1200, 1000.0
K_VIRTUAL = np.array([[FOCAL, 0.0, WIDTH / 2], [0.0, FOCAL, HEIGHT / 2], [0.0, 0.0, 1.0]])
STAMP0 = 1_317_042_504_967_930_880


def write_virtual_camera_bag(sample_dir: Path, out: Path) -> list[np.ndarray]:
    """The sample seen by the virtual camera, with the converter's topics, a ring field and
    /tf_static, but none of its metadata; returns each frame's LiDAR points."""
    topics, optical, store = kitti_topics(2), camera_frame(2), messages.TYPESTORE
    clouds = []
    with Writer(out, version=8) as writer:
        conns = [writer.add_connection(topic, msgtype, typestore=store) for topic, msgtype in
                 ((topics.image, "sensor_msgs/msg/Image"),
                  (topics.camera_info, "sensor_msgs/msg/CameraInfo"),
                  (topics.points, "sensor_msgs/msg/PointCloud2"),
                  (topics.tf_static, "tf2_msgs/msg/TFMessage"))]
        for position, frame in enumerate(open_sequence(sample_dir)):
            stamp = STAMP0 + position * 100_000_000
            K2 = frame.calibration.P_rect[2][:, :3]
            if position == 0:
                T = ros_lidar_to_camera(frame.calibration, 2)
                tf = messages.static_transform(np.linalg.inv(T), LIDAR_FRAME, optical, stamp)
                writer.write(conns[3], stamp, store.serialize_cdr(tf, tf.__msgtype__))
            rgb = cv2.warpPerspective(frame.image, K_VIRTUAL @ np.linalg.inv(K2),
                                      (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
            for conn, msg in zip(conns, (
                    messages.rgb_image(rgb, stamp, optical),
                    messages.rectified_camera_info(WIDTH, HEIGHT, K_VIRTUAL, stamp, optical),
                    messages.point_cloud(frame.points, estimate_rings(frame.points), stamp,
                                         LIDAR_FRAME))):
                writer.write(conn, stamp, store.serialize_cdr(msg, msg.__msgtype__))
            clouds.append(frame.points)
    return clouds


@pytest.fixture(scope="module")
def virtual_bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
                ) -> tuple[Path, list[np.ndarray]]:
    bag = tmp_path_factory.mktemp("virtual") / "bag"
    return bag, write_virtual_camera_bag(sample_dir, bag)


def _evaluate(bag: Path, out: Path, *extra: str) -> dict:
    assert main(["evaluate", str(bag), "--model", "nearest", "--heldout-beams", "--lines", "32",
                 "--report", str(out), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def _expected_box(points: np.ndarray, sample_dir: Path) -> tuple[int, int, int, int]:
    """Bounding box of the frame's points in the virtual image, by plain numpy."""
    T = ros_lidar_to_camera(next(iter(open_sequence(sample_dir))).calibration, 2)
    cam = points[:, :3].astype(np.float64) @ T[:3, :3].T + T[:3, 3]
    cam = cam[cam[:, 2] > 0.1]
    pixels = cam @ K_VIRTUAL.T
    u, v = np.floor(pixels[:, 0] / pixels[:, 2]), np.floor(pixels[:, 1] / pixels[:, 2])
    inside = (u >= 0) & (u < WIDTH) & (v >= 0) & (v < HEIGHT)
    u, v = u[inside].astype(int), v[inside].astype(int)
    return u.min(), v.min(), u.max() - u.min() + 1, v.max() - v.min() + 1


def test_non_kitti_camera_is_scored_where_the_lidar_covers_it(
        virtual_bag: tuple[Path, list[np.ndarray]], sample_dir: Path, tmp_path: Path) -> None:
    bag, clouds = virtual_bag
    lidar = _evaluate(bag, tmp_path / "lidar")
    region = lidar["scored_region"]
    box = (region["x0"], region["y0"], region["width"], region["height"])
    assert region["rule"] == LIDAR_RULE
    assert box == _expected_box(clouds[0], sample_dir)
    assert box[0] == 0 and box[2] == WIDTH  # a 360-degree scan covers every column
    assert 450 < box[1] < 600 and box[1] + box[3] == HEIGHT  # from above the horizon down
    report = (tmp_path / "lidar" / "report.md").read_text()
    assert f"the region the LiDAR covers: rows {box[1]}-{HEIGHT - 1}" in report
    assert "not KITTI-size" in report
    # KITTI's bottom-centre crop on this camera: a fraction of the ground truth
    kitti_crop = _evaluate(bag, tmp_path / "kitti_crop", "--crop", "1216", "352")
    assert kitti_crop["scored_region"]["rule"] == USER_RULE
    assert kitti_crop["scored_region"]["y0"] == HEIGHT - 352
    assert lidar["num_pixels"] > 3 * kitti_crop["num_pixels"]
    assert lidar["by_lines"][0]["frames_scored"] == 4 and np.isfinite(lidar["rmse"])


def test_kitti_bag_scores_the_kitti_crop(sample_bag: Path, tmp_path: Path) -> None:
    document = _evaluate(sample_bag, tmp_path)
    region = document["scored_region"]
    assert (region["x0"], region["y0"], region["width"], region["height"], region["rule"]) == \
        (13, 23, 1216, 352, KITTI_RULE)
    assert "KITTI-size" in (tmp_path / "report.md").read_text()


def test_user_crop_scores_only_its_box(sample_bag: Path, tmp_path: Path) -> None:
    """A box on the right half: fewer ground-truth pixels than KITTI's crop, all inside it."""
    full = _evaluate(sample_bag, tmp_path / "full")
    right = _evaluate(sample_bag, tmp_path / "right", "--crop", "621", "0", "621", "375",
                      "--save-predictions", str(tmp_path / "pred"))
    assert right["scored_region"]["rule"] == USER_RULE
    assert 0 < right["num_pixels"] < full["num_pixels"]
    png = next((tmp_path / "pred" / "lines_32" / "groundtruth").glob("*.png"))
    assert cv2.imread(str(png), cv2.IMREAD_UNCHANGED).shape == (375, 621)


@pytest.mark.parametrize("width, height, kitti", [
    (1242, 375, True), (1224, 370, True), (1241, 376, True), (1216, 352, True),
    (1250, 380, True), (1215, 375, False), (1251, 375, False), (1242, 351, False),
    (1242, 381, False), (1920, 1200, False), (640, 480, False),
])
def test_kitti_size(width: int, height: int, kitti: bool) -> None:
    assert is_kitti_size(width, height) is kitti


@pytest.mark.parametrize("crop, box", [
    ((1216, 352), (13, 23, 1216, 352)), ((100, 50, 200, 100), (100, 50, 200, 100)),
    ((1242, 375), (0, 0, 1242, 375)),
])
def test_user_region(crop: tuple[int, ...], box: tuple[int, ...]) -> None:
    assert user_region(crop, 1242, 375).box == box


@pytest.mark.parametrize("crop, message", [
    ((1216,), "W H or X0 Y0 W H"), ((1300, 352), "at least 1300x352"),
    ((1000, 0, 300, 100), "does not fit"), ((0, 0, 0, 100), "does not fit"),
])
def test_user_region_errors(crop: tuple[int, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        user_region(crop, 1242, 375)


def test_choose_region_rules() -> None:
    camera = PinholeCamera(640, 480, np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]))
    ahead = np.array([[0.0, 0.0, 10.0], [1.0, 2.0, 10.0]])
    frames = [(0, camera, None), (1, camera, ahead[:0]), (2, camera, ahead)]
    lidar = choose_region(iter(frames), np.eye(4), heldout=True)
    assert lidar is not None and lidar.rule == LIDAR_RULE and lidar.box == (320, 240, 51, 101)
    assert "frame 2" in lidar.reason
    nothing = choose_region(iter(frames[:2]), np.eye(4), heldout=True)
    assert nothing is not None and nothing.rule == FULL_RULE and nothing.box == (0, 0, 640, 480)
    truth = choose_region(iter(frames), np.eye(4), heldout=False)
    assert truth is not None and truth.rule == FULL_RULE
    user = choose_region(iter(frames), np.eye(4), heldout=False, crop=(64, 48))
    assert user is not None and user.box == (288, 432, 64, 48)
    assert choose_region(iter([]), np.eye(4), heldout=True) is None
