"""A real rclpy context for node tests: the node under test, a feeder node and output collectors.

Each test process uses its own ROS_DOMAIN_ID (from its pid), localhost-only discovery and the
package's Fast DDS profile, so parallel test runs do not cross-talk.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest

from depth_completion_ros.paths import CONFIG_DIR, SAMPLE_DIR

ROS_ENV = {"ROS_DOMAIN_ID": str(os.getpid() % 100 + 100),
           "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "FASTDDS_DEFAULT_PROFILES_FILE": str(CONFIG_DIR / "fastdds_shm.xml"),
           "RMW_FASTRTPS_USE_QOS_FROM_XML": "1",
           "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}
_names = itertools.count()
WAIT_S = 30.0  # bound of every wait on a condition; a passing test returns as soon as it holds


def load_yaml_params(path: Path) -> dict[str, Any]:
    """The ``/**: ros__parameters`` mapping of a node parameter file."""
    import yaml
    return yaml.safe_load(path.read_text())["/**"]["ros__parameters"]


class SampleFrames:
    """The embedded KITTI sample as ROS-convention arrays (camera_info P = [K2 | 0]).

    KITTI data (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
    """

    def __init__(self) -> None:
        from depth_completion_ros.io.kitti_calib import read_object_calib
        calib = read_object_calib(SAMPLE_DIR / "calib.txt")
        self.K = calib.P_rect[2][:, :3].copy()
        self.kitti_calib = calib
        self.rgb = [cv2.imread(str(p))[:, :, ::-1].copy()
                    for p in sorted((SAMPLE_DIR / "image_02/data").glob("*.png"))]
        self.scans = [np.fromfile(p, np.float32).reshape(-1, 4)
                      for p in sorted((SAMPLE_DIR / "velodyne_points/data").glob("*.bin"))]
        self.height, self.width = self.rgb[0].shape[:2]


def header(stamp: float, frame_id: str) -> Any:
    """std_msgs/Header at ``stamp`` seconds."""
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header
    sec = int(np.floor(stamp))
    return Header(stamp=Time(sec=sec, nanosec=int(round((stamp - sec) * 1e9))), frame_id=frame_id)


def camera_info_msg(frames: SampleFrames, stamp: float) -> Any:
    """CameraInfo of image_02 in the ROS convention: P = [K2 | 0], no distortion."""
    from sensor_msgs.msg import CameraInfo
    return CameraInfo(header=header(stamp, "cam2"), width=frames.width, height=frames.height,
                      distortion_model="plumb_bob", d=[0.0] * 5, k=frames.K.reshape(-1).tolist(),
                      r=np.eye(3).reshape(-1).tolist(),
                      p=np.hstack([frames.K, np.zeros((3, 1))]).reshape(-1).tolist())


def cloud_msg(scan: np.ndarray, stamp: float) -> Any:
    """PointCloud2 of an (N, 4) float32 x, y, z, intensity scan, frame "velo"."""
    from sensor_msgs.msg import PointCloud2, PointField
    fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1)
              for i, n in enumerate(("x", "y", "z", "intensity"))]
    return PointCloud2(header=header(stamp, "velo"), height=1, width=scan.shape[0],
                       fields=fields, is_bigendian=False, point_step=16,
                       row_step=16 * scan.shape[0], is_dense=True,
                       data=np.ascontiguousarray(scan, "<f4").tobytes())


class Harness:
    """The node under test plus a feeder / collector node in one context, spun in a thread."""

    def __init__(self, context: Any, overrides: dict[str, Any]) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.node import Node
        from rclpy.parameter import Parameter
        from rclpy.qos import QoSProfile, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2

        from depth_completion_ros.ros.node import DepthCompletionNode
        from depth_completion_ros.ros.spinning import BackgroundSpinner
        ns = f"/t{next(_names)}"
        params = [Parameter(k, value=v) for k, v in overrides.items()]
        self.node = DepthCompletionNode(context=context, namespace=ns, parameter_overrides=params)
        self.io = Node("feeder", context=context, namespace=ns)
        self.pub = {name: self.io.create_publisher(t, name, qos_profile_sensor_data)
                    for name, t in (("image", Image), ("camera_info", CameraInfo),
                                    ("points", PointCloud2))}
        self.received: dict[str, list[Any]] = defaultdict(list)
        self._lock = threading.Lock()
        for name, t in (("depth", Image), ("confidence", Image), ("depth/camera_info", CameraInfo),
                        ("depth_mm", Image), ("sparse_depth", Image), ("depth_color", Image),
                        ("points_dense", PointCloud2)):
            self.io.create_subscription(t, name, self._collector(name), QoSProfile(depth=20))
        self.status_name = f"{self.node.get_fully_qualified_name()}: depth completion"
        self.io.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 20)
        self.spinner = BackgroundSpinner([self.node, self.io], context=context)

    def send(self, frames: SampleFrames, index: int, stamp: float, *, cloud: bool = True,
             image: Any = None, info: Any = None, points: Any = None) -> None:
        """Publish camera_info, the cloud (unless ``cloud`` is False) and the image of a frame;
        ``image`` / ``info`` / ``points`` replace the sample's messages (bad-input tests)."""
        from depth_completion_ros.ros.encoding import array_to_image
        i = index % len(frames.rgb)
        self.pub["camera_info"].publish(info or camera_info_msg(frames, stamp))
        if cloud:
            self.pub["points"].publish(points or cloud_msg(frames.scans[i], stamp))
        self.pub["image"].publish(image or array_to_image(frames.rgb[i], header(stamp, "cam2"),
                                                          "rgb8"))

    def _collector(self, name: str) -> Callable[[Any], None]:
        def store(msg: Any) -> None:
            with self._lock:
                self.received[name].append(msg)
        return store

    def _on_diag(self, msg: Any) -> None:
        for status in msg.status:
            if status.name == self.status_name:
                with self._lock:
                    self.received["diagnostics"].append(
                        {kv.key: kv.value for kv in status.values})

    def count(self, name: str) -> int:
        with self._lock:
            return len(self.received[name])

    def last(self, name: str) -> Any:
        with self._lock:
            return self.received[name][-1]

    def since(self, name: str, start: int) -> list[Any]:
        """Messages of ``name`` received after the first ``start`` ones."""
        with self._lock:
            return list(self.received[name][start:])

    def wait_ready(self, *outputs: str, timeout: float = WAIT_S) -> bool:
        """Wait until the node subscribes to the inputs and ``outputs`` have their collectors."""
        return self.wait_for(lambda: all(self.io.count_subscribers(t) > 0 for t in self.pub) and
                             all(self.node.count_subscribers(t) > 0 for t in outputs), timeout)

    def send_until(self, frames: SampleFrames, index: int, stamp: float,
                   predicate: Callable[[], bool], timeout: float = WAIT_S,
                   every: float = 2.0, **kwargs: Any) -> bool:
        """Send a frame, again every ``every`` s until ``predicate()`` (best-effort inputs may be
        lost while discovery settles); same stamp each time, so the node serves it as one."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.send(frames, index, stamp, **kwargs)
            if self.wait_for(predicate, min(every, max(end - time.monotonic(), 0.0))):
                return True
        return predicate()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        """Poll ``predicate`` until true or ``timeout`` s (generous: CI shares 2 loaded cores)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    def close(self) -> None:
        """Stop spinning first (no callback left running or handed out: see
        :mod:`depth_completion_ros.ros.spinning`), then destroy the nodes: destroying a node
        while an executor thread still waits on its handles can hang that executor (seen on
        loaded CI machines)."""
        self.spinner.stop(WAIT_S)
        for node in (self.node, self.io):
            node.destroy_node()


@pytest.fixture(scope="module")
def ros_context():
    """An rclpy context and a :class:`~depth_completion_ros.ros.spinning.BackgroundSpinner`
    (``add_node`` / ``remove_node``) spinning in a background thread."""
    import rclpy

    from depth_completion_ros.ros.spinning import BackgroundSpinner
    saved = {k: os.environ.get(k) for k in ROS_ENV}
    os.environ.update(ROS_ENV)
    context = rclpy.Context()
    rclpy.init(context=context)
    spinner = BackgroundSpinner(context=context)
    yield context, spinner
    spinner.stop(WAIT_S)
    rclpy.shutdown(context=context)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def msgs() -> SimpleNamespace:
    """Message builders for tests: ``header``, ``camera_info``, ``cloud``."""
    return SimpleNamespace(header=header, camera_info=camera_info_msg, cloud=cloud_msg)


@pytest.fixture(scope="session")
def frames() -> SampleFrames:
    return SampleFrames()


@pytest.fixture
def harness(ros_context):
    """Factory: ``harness(**parameter_overrides)``; each harness spins on its own executor
    (so a test cannot leave a stuck executor to the next) and is closed after the test."""
    made: list[Harness] = []

    def make(**overrides: Any) -> Harness:
        # A long lidar_timeout and max_wait by default: an image may arrive before its cloud
        # (separate topics, no ordering) and single-frame tests must not fall into prediction.
        params = {**load_yaml_params(CONFIG_DIR / "kitti.yaml"), "lidar_timeout": 5.0,
                  "max_wait": 0.3, **overrides}
        made.append(Harness(ros_context[0], params))
        return made[-1]
    yield make
    for h in made:
        h.close()
