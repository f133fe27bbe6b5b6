"""The one seam for optional ROS 2 packages (cv_bridge, message_filters, sensor_msgs_py, tf2_ros).

Nothing else in the package tries to import these; it asks this module instead. What each one is
used for, and what replaces it when it is absent (the pip-only environment has none of them):

- ``tf2_ros``: when the ``lidar_to_camera`` parameter is unset, the node looks the LiDAR -> camera
  transform up at the image stamp (:func:`make_tf_lookup`). Without tf2 the parameter is required.
- ``cv_bridge`` / ``sensor_msgs_py``: not needed. :mod:`depth_completion_ros.ros.conversions`
  decodes Image and PointCloud2 with numpy, zero-copy where the layout allows, duck-typed on the
  message fields so it reads rclpy messages and rosbags-deserialised ones alike (offline evaluation
  follows the node's code path). The flags below are reported in the node's start-up log.
- ``message_filters``: not used on purpose. Its ApproximateTimeSynchronizer never fires once one
  input stops, which is exactly the LiDAR-dropout case; :mod:`depth_completion_ros.sync` replaces it.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable

import numpy as np

from depth_completion_ros.errors import CalibrationError


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


def available() -> dict[str, bool]:
    """Which optional ROS packages are importable here, by name."""
    return {"tf2_ros": tf2_ros is not None, "cv_bridge": cv_bridge is not None,
            "message_filters": message_filters is not None,
            "sensor_msgs_py": sensor_msgs_py is not None}


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
