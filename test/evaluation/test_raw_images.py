"""``evaluate --raw``: raw (distorted) images, projected with camera_info K and D as the node does
with ``use_rectified: false``, the held-out ground truth included.

The bag is the embedded sample (Geiger et al., IJRR 2013, CC BY-NC-SA 3.0) seen through a
plumb_bob lens: its images distorted with D = (k1, k2, p1, p2, k3) below (k3 = 0.43, as in the
issue), the camera info carrying K and D, the converter's topics and /tf_static, no metadata.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Writer

from depth_completion_ros.bag import messages
from depth_completion_ros.bag.convert import ros_lidar_to_camera
from depth_completion_ros.bag.reading import lidar_to_camera_from_tf
from depth_completion_ros.bag.topics import LIDAR_FRAME, camera_frame, kitti_topics
from depth_completion_ros.cli.main import main
from depth_completion_ros.evaluation.heldout import drop_occluded
from depth_completion_ros.evaluation.scoring import quantise
from depth_completion_ros.geometry.crop import KITTI_CROP, cut
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.depth_png import read_depth_png
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.paths import CONFIG_DIR

D = np.array([-0.37, 0.2, 0.001, 0.0006, 0.43])
STAMP0 = 1_317_042_504_967_930_880
ROS_ENV = {"ROS_DOMAIN_ID": str(os.getpid() % 100 + 100),
           "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "FASTDDS_DEFAULT_PROFILES_FILE": str(CONFIG_DIR / "fastdds_shm.xml"),
           "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}


def distort_image(rgb: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The raw image a lens with ``D`` would have taken of the rectified ``rgb`` (same K): each
    raw pixel centre undistorted (OpenCV) and sampled there."""
    height, width = rgb.shape[:2]
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    raw = np.stack([u, v], -1).reshape(-1, 1, 2)
    ideal = cv2.undistortPoints(raw, K, D, P=K).reshape(height, width, 2) - 0.5
    return cv2.remap(rgb, ideal[..., 0].astype(np.float32), ideal[..., 1].astype(np.float32),
                     cv2.INTER_LINEAR)


def raw_camera_info(width: int, height: int, K: np.ndarray, stamp: int, frame_id: str):
    info = messages.rectified_camera_info(width, height, K, stamp, frame_id)
    info.d = D.copy()
    return info


def write_raw_bag(sample_dir: Path, out: Path) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The distorted bag; returns (stamp, points, ring field) per frame."""
    topics, optical, store = kitti_topics(2), camera_frame(2), messages.TYPESTORE
    frames = []
    with Writer(out, version=8) as writer:
        conns = [writer.add_connection(topic, msgtype, typestore=store) for topic, msgtype in
                 ((topics.image, "sensor_msgs/msg/Image"),
                  (topics.camera_info, "sensor_msgs/msg/CameraInfo"),
                  (topics.points, "sensor_msgs/msg/PointCloud2"),
                  (topics.tf_static, "tf2_msgs/msg/TFMessage"))]
        for position, frame in enumerate(open_sequence(sample_dir)):
            stamp = STAMP0 + position * 100_000_000
            K = frame.calibration.P_rect[2][:, :3]
            if position == 0:
                T = ros_lidar_to_camera(frame.calibration, 2)
                tf = messages.static_transform(np.linalg.inv(T), LIDAR_FRAME, optical, stamp)
                writer.write(conns[3], stamp, store.serialize_cdr(tf, tf.__msgtype__))
            height, width = frame.image.shape[:2]
            rings = estimate_rings(frame.points)
            for conn, msg in zip(conns, (
                    messages.rgb_image(distort_image(frame.image, K), stamp, optical),
                    raw_camera_info(width, height, K, stamp, optical),
                    messages.point_cloud(frame.points, rings, stamp, LIDAR_FRAME))):
                writer.write(conn, stamp, store.serialize_cdr(msg, msg.__msgtype__))
            frames.append((stamp, frame.points, rings))
    return frames


@pytest.fixture(scope="module")
def raw_bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> tuple[Path, list]:
    bag = tmp_path_factory.mktemp("raw") / "bag"
    return bag, write_raw_bag(sample_dir, bag)


def _evaluate(bag: Path, out: Path, *extra: str) -> dict:
    assert main(["evaluate", str(bag), "--model", "nearest", "--heldout-beams", "--lines", "32",
                 "--report", str(out), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def _render(points: np.ndarray, T: np.ndarray, K: np.ndarray, shape: tuple[int, int],
            distorted: bool) -> np.ndarray:
    """Sparse depth of ``points`` by plain OpenCV / numpy: cv2.projectPoints with D (raw) or
    the pinhole K, pixel = floor, nearest depth wins, optical z > 0.1 m."""
    cam = points[:, :3].astype(np.float64) @ T[:3, :3].T + T[:3, 3]
    cam = cam[cam[:, 2] > 0.1]
    if distorted:
        pixels = cv2.projectPoints(cam.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K,
                                   D)[0].reshape(-1, 2)
    else:
        pixels = (cam @ K.T)[:, :2] / cam[:, 2:]
    u, v = np.floor(pixels[:, 0]), np.floor(pixels[:, 1])
    inside = (u >= 0) & (u < shape[1]) & (v >= 0) & (v < shape[0])
    depth = np.zeros(shape, np.float32)
    order = np.argsort(-cam[inside, 2])  # far first: the nearest is written last
    depth[v[inside][order].astype(int), u[inside][order].astype(int)] = cam[inside, 2][order]
    return depth


def _expected_groundtruth(points: np.ndarray, rings: np.ndarray, bag: Path, sample_dir: Path,
                          distorted: bool) -> np.ndarray:
    """The 32-line held-out ground truth (hidden = odd rings) of the KITTI crop, as a PNG
    holds it; the transform is the bag's /tf_static (its quaternion round trip included)."""
    K = next(iter(open_sequence(sample_dir))).calibration.P_rect[2][:, :3]
    T = lidar_to_camera_from_tf(bag, LIDAR_FRAME, camera_frame(2))
    box = KITTI_CROP.box(375, 1242)
    hidden = _render(points[rings % 2 == 1], T, K, (375, 1242), distorted)
    given = _render(points[rings % 2 == 0], T, K, (375, 1242), distorted)
    return quantise(drop_occluded(cut(hidden, box), cut(given, box)))


def test_raw_groundtruth_lands_where_opencv_projects_it(raw_bag: tuple[Path, list],
                                                        sample_dir: Path, tmp_path: Path) -> None:
    bag, frames = raw_bag
    document = _evaluate(bag, tmp_path / "raw", "--raw", "--save-predictions",
                         str(tmp_path / "pred"))
    assert document["projection"].startswith("raw: camera_info K and D")
    assert document["by_lines"][0]["frames_scored"] == 4
    for stamp, points, rings in frames:
        saved = read_depth_png(tmp_path / "pred" / "lines_32" / "groundtruth" / f"{stamp}.png")
        expected = _expected_groundtruth(points, rings, bag, sample_dir, distorted=True)
        np.testing.assert_array_equal(saved, expected)
        pinhole = _expected_groundtruth(points, rings, bag, sample_dir, distorted=False)
        moved = np.count_nonzero((saved > 0) & (pinhole == 0)) / np.count_nonzero(saved)
        assert moved > 0.5  # k3 = 0.43 moves most ground-truth pixels: distortion matters
    rectified = _evaluate(bag, tmp_path / "rectified")
    assert rectified["projection"].startswith("rectified")
    assert rectified["num_pixels"] != document["num_pixels"]


def test_offline_raw_equals_the_live_node_with_use_rectified_false(
        raw_bag: tuple[Path, list], tmp_path: Path) -> None:
    """The node gets use_rectified false from the same settings: what it publishes scores like
    the offline pipeline (floating-point noise of another process aside)."""
    pytest.importorskip("rclpy")
    bag, _ = raw_bag
    offline = _evaluate(bag, tmp_path / "offline", "--raw")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ROS_ENV.items():
            patch.setenv(key, value)
        # 800 ms apart: a raw frame takes longer (undistortion), and a frame that arrives while
        # the node is busy is dropped by design (queue of one): under load, 200 ms lost one.
        # Slower than lidar_timeout (0.5 s) on purpose: the node's sync timeouts must be scaled
        # with the rate (SyncConfig.at_rate), else its images go alone on the previous scan
        online = _evaluate(bag, tmp_path / "online", "--raw", "--online", "--rate", "0.125")
    # the node's whole account in each message, as one string (pytest shortens a dict): a
    # failure must say whether a frame was dropped (queue of one), rejected (e.g. camera_info:
    # a first frame whose camera_info callback ran after its cloud's, fixed in CameraCache),
    # paired differently, or scored differently
    account = json.dumps(online["node"])
    assert online["node"]["depth published"] == 4 and online["node"]["unaccounted"] == 0, account
    assert online["projection"] == offline["projection"], (online["projection"], account)
    for name in ("rmse", "mae", "irmse", "imae", "delta1", "num_pixels"):
        assert online[name] == pytest.approx(offline[name], rel=1e-6, abs=1e-9), (
            name, online[name], offline[name], account)
