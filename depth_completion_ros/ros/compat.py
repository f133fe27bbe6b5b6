"""The one seam for optional ROS 2 packages (cv_bridge, message_filters, sensor_msgs_py, tf2_ros,
nav_msgs).

Nothing else in the package tries to import these; the node calls one function here for each job
and this module dispatches to the ROS package when it is importable, else to the numpy code of
:mod:`depth_completion_ros.decoding` and :mod:`depth_completion_ros.ros.encoding` (the pip-only
environment has none of them). Both
paths raise the same InputError for the same bad message: the layout is checked by the shared
``check_*_layout`` functions first, and any library exception after that is wrapped.

- ``cv_bridge``: :func:`decode_image` (``imgmsg_to_cv2`` to rgb8; mono8 read as mono8 and
  replicated) and :func:`encode_image` (``cv2_to_imgmsg``). Fallback: numpy views of the message
  buffer, zero-copy for colour encodings.
- ``sensor_msgs_py``: :func:`decode_cloud` (``point_cloud2.read_points`` of x, y, z and
  ring / intensity when present, ``skip_nans``) and :func:`encode_cloud` (``create_cloud_xyz32``).
  ``read_points`` ignores ``row_step``, so clouds with row padding take the numpy path; inf
  coordinates are dropped after it as the numpy path does. Fallback: numpy structured views.
- ``message_filters``: :func:`subscribe_camera` pairs ``image`` with ``camera_info`` by *exact*
  stamp with a ``TimeSynchronizer`` (as image_transport's CameraSubscriber does; drivers stamp
  both identically); images that find no camera_info are reported. It is deliberately NOT used to
  pair images with LiDAR: ApproximateTimeSynchronizer never fires once one input stops, which is
  exactly the LiDAR-dropout case; :mod:`depth_completion_ros.sync` does that pairing. Fallback:
  two plain subscriptions, each image served with the latest valid camera_info.
- ``tf2_ros``: when the ``lidar_to_camera`` parameter is unset, the node looks the LiDAR -> camera
  transform up at the image stamp (:func:`make_tf_lookup`). Without tf2 the parameter is required.
- ``nav_msgs``: :func:`subscribe_odometry` (``odometry_topic``), poses that move a stale scan into
  the current LiDAR pose during a LiDAR dropout. Without it: no motion compensation (warned).

Offline evaluation decodes rosbags messages with the numpy functions directly (rosbags messages
are not rclpy types, which sensor_msgs_py asserts).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from depth_completion_ros import decoding as conv
from depth_completion_ros.compressed_image import compressed_to_rgb, is_compressed_image
from depth_completion_ros.errors import CalibrationError, InputError
from depth_completion_ros.ros import encoding as enc


def _optional(name: str) -> ModuleType | None:
    """Import ``name`` if it is installed, else None (never raises ImportError)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


tf2_ros = _optional("tf2_ros")
cv_bridge = _optional("cv_bridge")
message_filters = _optional("message_filters")
sensor_msgs_py = _optional("sensor_msgs_py")
nav_msgs = _optional("nav_msgs.msg")
point_cloud2 = _optional("sensor_msgs_py.point_cloud2") if sensor_msgs_py else None
#: history of the image / camera_info TimeSynchronizer (messages per topic)
CAMERA_QUEUE = 5
_bridge: tuple[Any, Any] = (None, None)  # (cv_bridge module, its CvBridge instance)


def available() -> dict[str, bool]:
    """Which optional ROS packages are importable here, by name."""
    return {"tf2_ros": tf2_ros is not None, "cv_bridge": cv_bridge is not None,
            "message_filters": message_filters is not None,
            "sensor_msgs_py": point_cloud2 is not None, "nav_msgs": nav_msgs is not None}


def subscribe_odometry(node: Any, topic: str, qos: Any, callback: Callable[[Any], None]) -> bool:
    """Subscribe ``callback`` to nav_msgs/Odometry on ``topic``; False when nav_msgs is not
    importable (the node then runs without motion compensation, and says so)."""
    if nav_msgs is None:
        return False
    node.create_subscription(nav_msgs.Odometry, topic, callback, qos)
    return True


def quaternion_to_matrix(translation: tuple[float, float, float],
                         quaternion_xyzw: tuple[float, float, float, float]) -> np.ndarray:
    """4x4 homogeneous transform from a translation (metres) and a unit quaternion (x, y, z, w).

    Returns:
        (4, 4) float64 matrix.

    Raises:
        CalibrationError: the quaternion has zero or non-finite norm.
    """
    q = np.asarray(quaternion_xyzw, dtype=np.float64)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm < 1e-12:
        raise CalibrationError(f"transform rotation: quaternion {q.tolist()} has no usable norm")
    x, y, z, w = q / norm
    out = np.eye(4)
    out[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                   [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                   [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    out[:3, 3] = translation
    return out


def make_tf_lookup(node: Any) -> Callable[[str, str, Any], np.ndarray] | None:
    """A transform lookup backed by tf2_ros, or None when tf2_ros is not importable.

    Args:
        node: the rclpy node that owns the TF listener.

    Returns:
        ``lookup(target_frame, source_frame, stamp) -> (4, 4) float64`` mapping points of
        ``source_frame`` into ``target_frame`` at ``stamp`` (a builtin_interfaces Time); it raises
        CalibrationError when tf2 has no such transform (yet).
    """
    if tf2_ros is None:
        return None
    buffer = tf2_ros.Buffer()
    listener = tf2_ros.TransformListener(buffer, node)

    def lookup(target: str, source: str, stamp: Any) -> np.ndarray:
        _ = listener  # keep the listener alive as long as the lookup
        try:
            tf = buffer.lookup_transform(target, source, stamp)
        except Exception as err:  # tf2 raises several unrelated exception types
            raise CalibrationError(f"tf2: no transform {source} -> {target}: {err}") from err
        t, r = tf.transform.translation, tf.transform.rotation
        return quaternion_to_matrix((t.x, t.y, t.z), (r.x, r.y, r.z, r.w))

    return lookup


def _cv_bridge() -> Any:
    """The CvBridge instance of the current ``cv_bridge`` module (made once per module); only
    called once ``cv_bridge`` was found importable."""
    global _bridge
    module = cv_bridge
    assert module is not None, "callers use cv_bridge only when it is importable"
    if _bridge[0] is not module:
        _bridge = (module, module.CvBridge())
    return _bridge[1]


def decode_image(msg: Any) -> np.ndarray:
    """sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8) -> (H, W, 3) uint8 RGB; a
    sensor_msgs/CompressedImage (JPEG, PNG) is decoded with OpenCV
    (:func:`~depth_completion_ros.compressed_image.compressed_to_rgb`, as image_transport's
    compressed subscriber does, with or without cv_bridge).

    Through cv_bridge when importable, else :func:`decoding.image_to_rgb` (zero-copy view).

    Raises:
        InputError: unsupported encoding, zero size, ``step`` too small, truncated data, or
            cv_bridge failing on the message; a CompressedImage OpenCV cannot decode.
    """
    if is_compressed_image(msg):
        return compressed_to_rgb(msg)
    if cv_bridge is None:
        return conv.image_to_rgb(msg)
    layout = conv.check_image_layout(msg)
    try:
        if layout.order is None:
            mono = np.asarray(_cv_bridge().imgmsg_to_cv2(msg, desired_encoding="mono8"))
            return np.repeat(mono.reshape(mono.shape[0], mono.shape[1], 1), 3, axis=2)
        return np.asarray(_cv_bridge().imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except Exception as err:  # cv_bridge raises CvBridgeError, TypeError, cv2.error ...
        raise InputError(f"Image ({msg.encoding!r} {msg.width}x{msg.height}): cv_bridge "
                         f"could not decode it: {err}") from err


def decode_cloud(msg: Any) -> conv.PointCloud:
    """sensor_msgs/PointCloud2 -> finite points (x, y, z; ring / intensity when present).

    Through sensor_msgs_py's ``read_points`` when importable and the rows are not padded, else
    :func:`decoding.cloud_to_points`.

    Raises:
        InputError: no x / y / z, bad strides, truncated data, an empty cloud, no finite point,
            or sensor_msgs_py failing on the message.
    """
    dtype = conv.check_cloud_layout(msg)
    if point_cloud2 is None or int(msg.row_step) != int(msg.width) * dtype.itemsize:
        return conv.cloud_to_points(msg)
    names = list(dtype.names or ())  # never None: the dtype is structured (x, y, z at least)
    try:
        points = point_cloud2.read_points(msg, field_names=names, skip_nans=True)
        xyz = np.stack([np.asarray(points[axis], np.float32) for axis in "xyz"], axis=-1)
    except Exception as err:  # sensor_msgs_py asserts, numpy raises TypeError / ValueError
        raise InputError(f"PointCloud2 ({msg.width}x{msg.height}, fields {names}): "
                         f"sensor_msgs_py could not read it: {err}") from err
    if xyz.shape[0] == 0:
        raise InputError(f"PointCloud2: none of its {msg.width * msg.height} points is finite")
    return conv.finite_cloud(xyz, points["ring"] if "ring" in names else None,
                             points["intensity"] if "intensity" in names else None)


def encode_image(array: np.ndarray, header: Any, encoding: str) -> Any:
    """(H, W) or (H, W, C) array already in ``encoding`` -> sensor_msgs/Image stamped ``header``.

    Through cv_bridge's ``cv2_to_imgmsg`` when importable, else :func:`encoding.array_to_image`.
    """
    if cv_bridge is None:
        return enc.array_to_image(array, header, encoding)
    msg = _cv_bridge().cv2_to_imgmsg(np.ascontiguousarray(array), encoding=encoding)
    msg.header = header
    return msg


def encode_cloud(xyz: np.ndarray, header: Any) -> Any:
    """(N, 3) points in metres -> dense unorganised PointCloud2 (float32 x, y, z).

    Through sensor_msgs_py's ``create_cloud_xyz32`` when importable (``is_dense`` set true: the
    points are finite), else :func:`encoding.points_to_cloud`.
    """
    if point_cloud2 is None:
        return enc.points_to_cloud(xyz, header)
    msg = point_cloud2.create_cloud_xyz32(header, np.asarray(xyz, np.float32).reshape(-1, 3))
    msg.is_dense = True
    return msg


def subscribe_camera(node: Any, image_type: type, info_type: type, qos: Any,
                     on_image: Callable[[Any], None], on_info: Callable[[Any], None],
                     on_unpaired: Callable[[Any], None], image_topic: str = "image"
                     ) -> tuple[str, tuple[Any, ...]]:
    """Subscribe ``image_topic`` (``image``, or a CompressedImage topic ``<image>/compressed``)
    and ``camera_info`` (relative names) of ``node``.

    With message_filters: ``on_info(info)`` for every camera_info as it arrives (frames
    released by the LiDAR, without an image, need it), and a TimeSynchronizer that pairs image
    and camera_info by exact stamp calls ``on_image(image)`` once its camera_info has come
    (``on_info`` has then seen it); every image after :data:`CAMERA_QUEUE` images without a
    pair is handed to ``on_unpaired`` (camera_info missing or stamped differently).
    Without: two subscriptions calling ``on_info`` and ``on_image`` as messages arrive.

    Returns:
        ("message_filters" or "latest": the pairing in use, the subscription objects: keep them
        as long as the node).
    """
    if message_filters is None:
        return "latest", (node.create_subscription(info_type, "camera_info", on_info, qos),
                           node.create_subscription(image_type, image_topic, on_image, qos))
    image_sub = message_filters.Subscriber(node, image_type, image_topic, qos_profile=qos)
    info_sub = message_filters.Subscriber(node, info_type, "camera_info", qos_profile=qos)
    info_sub.registerCallback(on_info)  # before the synchroniser's: the cache is set first
    unpaired = [0]

    def on_raw_image(msg: Any) -> None:
        unpaired[0] += 1
        if unpaired[0] > CAMERA_QUEUE:
            on_unpaired(msg)

    def on_pair(image: Any, info: Any) -> None:
        unpaired[0] = 0
        on_image(image)

    image_sub.registerCallback(on_raw_image)
    sync = message_filters.TimeSynchronizer([image_sub, info_sub], CAMERA_QUEUE)
    sync.registerCallback(on_pair)
    return "message_filters", (image_sub, info_sub, sync)
