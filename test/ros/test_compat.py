"""The compat seam's library paths (cv_bridge, sensor_msgs_py, message_filters) with small fakes.

The fakes record their calls and delegate to the numpy code (message_filters: plain rclpy
subscriptions plus an exact-stamp pairing), so each library path is checked without a ROS
install: the fakes are called, results equal the numpy path, library errors become InputError.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from depth_completion_ros import decoding as conv
from depth_completion_ros.errors import InputError
from depth_completion_ros.models.registry import get_model
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.ros import compat
from depth_completion_ros.ros import encoding as enc


class CvBridgeError(TypeError):
    """Like cv_bridge's error type (a TypeError subclass)."""


def make_cv_bridge(calls: list[tuple[str, str]], fail: bool = False) -> SimpleNamespace:
    """A ``cv_bridge`` module whose CvBridge records (method, encoding) and raises when ``fail``."""

    class CvBridge:
        def imgmsg_to_cv2(self, msg: Any, desired_encoding: str = "passthrough") -> np.ndarray:
            calls.append(("imgmsg_to_cv2", desired_encoding))
            if fail:
                raise CvBridgeError("conversion failed")
            rgb = np.array(conv.image_to_rgb(msg))
            return rgb[:, :, 0] if desired_encoding == "mono8" else rgb

        def cv2_to_imgmsg(self, array: np.ndarray, encoding: str = "passthrough") -> Any:
            from std_msgs.msg import Header
            calls.append(("cv2_to_imgmsg", encoding))
            return enc.array_to_image(array, Header(), encoding)

    return SimpleNamespace(CvBridge=CvBridge, CvBridgeError=CvBridgeError)


def make_point_cloud2(calls: list[tuple[str, Any]], fail: bool = False) -> SimpleNamespace:
    """A ``sensor_msgs_py.point_cloud2`` module: read_points / create_cloud_xyz32, recorded."""

    def read_points(cloud: Any, field_names: list[str] | None = None,
                    skip_nans: bool = False) -> np.ndarray:
        calls.append(("read_points", tuple(field_names or ())))
        if fail:
            raise AssertionError("Requests field is not in the fields of the PointCloud!")
        dtype = conv.check_cloud_layout(cloud)
        points = np.frombuffer(bytes(cloud.data), dtype=dtype, count=cloud.width * cloud.height)
        points = points[list(field_names)] if field_names else points
        if skip_nans:  # like sensor_msgs_py: NaN only, inf kept
            keep = np.ones(len(points), bool)
            for name in points.dtype.names:
                keep &= ~np.isnan(points[name].astype(np.float64))
            points = points[keep]
        return points

    def create_cloud_xyz32(header: Any, points: Any) -> Any:
        calls.append(("create_cloud_xyz32", len(points)))
        msg = enc.points_to_cloud(np.asarray(points), header)
        msg.is_dense = False  # as sensor_msgs_py's create_cloud sets it
        return msg

    return SimpleNamespace(read_points=read_points, create_cloud_xyz32=create_cloud_xyz32)


class _Filter:
    def __init__(self) -> None:
        self.callbacks: list[Callable[..., None]] = []

    def registerCallback(self, cb: Callable[..., None]) -> None:  # noqa: N802 (ROS API name)
        self.callbacks.append(cb)

    def signal(self, *msgs: Any) -> None:
        for cb in self.callbacks:
            cb(*msgs)


def make_message_filters(calls: list[tuple[str, Any]]) -> SimpleNamespace:
    """A ``message_filters`` module: Subscriber over rclpy, TimeSynchronizer by exact stamp."""

    class Subscriber(_Filter):
        def __init__(self, node: Any, msg_type: type, topic: str, qos_profile: Any = 10) -> None:
            super().__init__()
            calls.append(("Subscriber", topic))
            self.sub = node.create_subscription(msg_type, topic, self.signal, qos_profile) \
                if hasattr(node, "create_subscription") else None

    class TimeSynchronizer(_Filter):
        def __init__(self, filters: list[_Filter], queue_size: int) -> None:
            super().__init__()
            calls.append(("TimeSynchronizer", queue_size))
            self.queues = [OrderedDict() for _ in filters]
            self.queue_size = queue_size
            for i, f in enumerate(filters):
                f.registerCallback(lambda msg, i=i: self._add(i, msg))

        def _add(self, i: int, msg: Any) -> None:
            key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
            self.queues[i][key] = msg
            while len(self.queues[i]) > self.queue_size:
                self.queues[i].popitem(last=False)
            if all(key in q for q in self.queues):
                self.signal(*(q.pop(key) for q in self.queues))

    return SimpleNamespace(Subscriber=Subscriber, TimeSynchronizer=TimeSynchronizer)


@pytest.fixture
def fakes(monkeypatch):
    """Install all three fakes into compat; returns their call logs."""
    calls = SimpleNamespace(bridge=[], pc2=[], mf=[])
    monkeypatch.setattr(compat, "cv_bridge", make_cv_bridge(calls.bridge))
    monkeypatch.setattr(compat, "point_cloud2", make_point_cloud2(calls.pc2))
    monkeypatch.setattr(compat, "message_filters", make_message_filters(calls.mf))
    return calls


def _image(pixels: np.ndarray, encoding: str, pad: int = 0) -> Any:
    from sensor_msgs.msg import Image
    rows = pixels.reshape(pixels.shape[0], -1)
    data = np.concatenate([rows, np.zeros((rows.shape[0], pad), np.uint8)], axis=1)
    return Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                 step=data.shape[1], data=data.tobytes())


RGB = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)


@pytest.mark.parametrize("encoding, pixels, desired", [
    ("rgb8", RGB, "rgb8"), ("bgra8", np.dstack([RGB[:, :, ::-1], np.ones((2, 3), np.uint8)]),
                            "rgb8"),
    ("mono8", RGB[:, :, :1], "mono8")])
def test_images_decode_through_cv_bridge_like_numpy(fakes, encoding, pixels, desired):
    msg = _image(pixels, encoding, pad=2)
    out = compat.decode_image(msg)
    assert fakes.bridge == [("imgmsg_to_cv2", desired)]
    np.testing.assert_array_equal(out, conv.image_to_rgb(msg))
    assert out.shape == (2, 3, 3)


def test_cv_bridge_errors_and_bad_layouts_are_input_errors(monkeypatch):
    calls: list = []
    monkeypatch.setattr(compat, "cv_bridge", make_cv_bridge(calls, fail=True))
    with pytest.raises(InputError, match="cv_bridge could not decode") as info:
        compat.decode_image(_image(RGB, "rgb8"))
    assert isinstance(info.value.__cause__, CvBridgeError)
    bad = _image(RGB, "16UC1")
    for decode in (compat.decode_image, conv.image_to_rgb):  # same error on both paths
        with pytest.raises(InputError, match="Image.encoding: '16UC1' is not supported"):
            decode(bad)
    assert calls == [("imgmsg_to_cv2", "rgb8")]  # the bad layout never reached the library


def test_images_encode_through_cv_bridge(fakes):
    from std_msgs.msg import Header
    depth = np.array([[1.5, np.nan]], np.float32)
    hdr = Header(frame_id="cam")
    msg = compat.encode_image(depth, hdr, "32FC1")
    assert fakes.bridge == [("cv2_to_imgmsg", "32FC1")]
    assert msg.header.frame_id == "cam" and (msg.encoding, msg.width, msg.height) == ("32FC1", 2, 1)
    np.testing.assert_array_equal(np.frombuffer(bytes(msg.data), np.float32), depth.ravel())


def _cloud(xyz: np.ndarray, ring: bool = True) -> Any:
    from sensor_msgs.msg import PointCloud2, PointField
    dtype = np.dtype({"names": ["x", "y", "z", "ring"], "formats": ["<f4"] * 3 + ["<u2"],
                      "offsets": [0, 4, 8, 16], "itemsize": 20})
    points = np.zeros(len(xyz), dtype)
    for i, axis in enumerate("xyz"):
        points[axis] = xyz[:, i]
    points["ring"] = np.arange(len(xyz))
    fields = [PointField(name=a, offset=4 * i, datatype=7, count=1) for i, a in enumerate("xyz")]
    fields += [PointField(name="ring", offset=16, datatype=4, count=1)] if ring else []
    return PointCloud2(height=1, width=len(xyz), fields=fields, point_step=20,
                       row_step=20 * len(xyz), is_dense=False, data=points.tobytes())


def test_clouds_read_through_sensor_msgs_py_like_numpy(fakes):
    xyz = np.array([[1, 2, 3], [np.nan, 0, 0], [np.inf, 1, 1], [4, 5, 6]], np.float32)
    msg = _cloud(xyz)
    out, ref = compat.decode_cloud(msg), conv.cloud_to_points(msg)
    assert fakes.pc2 == [("read_points", ("x", "y", "z", "ring"))]
    np.testing.assert_array_equal(out.xyz, [[1, 2, 3], [4, 5, 6]])  # NaN and inf dropped
    np.testing.assert_array_equal(out.xyz, ref.xyz)
    np.testing.assert_array_equal(out.ring, [0, 3])
    assert out.ring.dtype == ref.ring.dtype == np.int32 and out.intensity is None


def test_padded_rows_take_the_numpy_path(fakes):
    msg = _cloud(np.ones((2, 3), np.float32))
    msg.row_step += 8
    msg.data = bytes(msg.data) + bytes(8)
    np.testing.assert_array_equal(compat.decode_cloud(msg).xyz, np.ones((2, 3)))
    assert fakes.pc2 == []  # read_points ignores row_step


def test_sensor_msgs_py_errors_and_bad_clouds_are_input_errors(monkeypatch):
    calls: list = []
    monkeypatch.setattr(compat, "point_cloud2", make_point_cloud2(calls, fail=True))
    with pytest.raises(InputError, match="sensor_msgs_py could not read it"):
        compat.decode_cloud(_cloud(np.ones((2, 3), np.float32)))
    monkeypatch.setattr(compat, "point_cloud2", make_point_cloud2(calls))
    truncated = _cloud(np.ones((4, 3), np.float32))
    truncated.data = bytes(truncated.data)[:30]
    nan = _cloud(np.full((3, 3), np.nan, np.float32))
    for msg, match in ((truncated, "truncated"), (nan, "none of its 3 points is finite")):
        for decode in (compat.decode_cloud, conv.cloud_to_points):
            with pytest.raises(InputError, match=match):
                decode(msg)


def test_dense_cloud_is_created_through_sensor_msgs_py(fakes):
    from std_msgs.msg import Header
    xyz = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    msg = compat.encode_cloud(xyz, Header(frame_id="cam"))
    assert fakes.pc2 == [("create_cloud_xyz32", 2)] and msg.is_dense
    np.testing.assert_array_equal(compat.decode_cloud(msg).xyz, xyz)


def test_camera_subscription_pairs_by_exact_stamp(fakes, msgs):
    from sensor_msgs.msg import CameraInfo, Image
    got: list = []
    mode, handles = compat.subscribe_camera(
        SimpleNamespace(), Image, CameraInfo, 5,
        lambda m: got.append(("image", m.header.stamp.sec)),
        lambda m: got.append(("info", m.header.stamp.sec)),
        lambda m: got.append(("unpaired", m.header.stamp.sec)))
    image_sub, info_sub, _ = handles
    assert mode == "message_filters"
    assert fakes.mf == [("Subscriber", "image"), ("Subscriber", "camera_info"),
                        ("TimeSynchronizer", compat.CAMERA_QUEUE)]
    image_sub.signal(Image(header=msgs.header(1.0, "cam")))
    info_sub.signal(CameraInfo(header=msgs.header(2.0, "cam")))
    assert got == [("info", 2)]  # every camera_info as it comes; different stamps: no pair
    info_sub.signal(CameraInfo(header=msgs.header(1.0, "cam")))
    assert got == [("info", 2), ("info", 1), ("image", 1)]
    for sec in range(10, 10 + compat.CAMERA_QUEUE + 2):
        image_sub.signal(Image(header=msgs.header(float(sec), "cam")))
    assert got[3:] == [("unpaired", 15), ("unpaired", 16)]


def test_node_serves_the_same_depth_through_the_library_paths(harness, frames, fakes, msgs):
    h = harness(publish_points_dense=True)
    assert h.node.camera_pairing == "message_filters"
    assert h.wait_ready("points_dense")
    assert h.send_until(frames, 0, 7.0, lambda: h.count("depth") and h.count("points_dense"))
    depth = np.frombuffer(bytes(h.last("depth").data), np.float32).reshape(375, 1242)
    assert ("imgmsg_to_cv2", "rgb8") in fakes.bridge and ("cv2_to_imgmsg", "32FC1") in fakes.bridge
    assert [c[0] for c in fakes.pc2] == ["read_points", "create_cloud_xyz32"]
    camera = conv.camera_info_to_camera(msgs.camera_info(frames, 7.0))
    s = h.node.settings
    pipeline = DepthPipeline(get_model(s.model), s.transform(), s.pipeline)
    expected = pipeline.process(frames.rgb[0], camera, frames.scans[0][:, :3]).depth
    np.testing.assert_array_equal(depth, expected)  # same as the numpy path, bit for bit
    assert h.last("points_dense").width == np.isfinite(expected).sum()
