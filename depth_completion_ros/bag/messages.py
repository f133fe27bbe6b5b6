"""Build rosbags (pure Python, no ROS) message objects from numpy arrays, for writing bags.

The reverse direction (message -> numpy) is :mod:`depth_completion_ros.decoding`, which is
duck-typed on message fields and therefore reads these rosbags messages as well as rclpy ones.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from rosbags.typesys import Stores, get_typestore

from depth_completion_ros.arrays import Array, Float64Array, UInt8Array
from depth_completion_ros.compressed_image import encode_rgb
from depth_completion_ros.errors import InputError

#: The type store every bag this package writes uses (message definitions as in ROS 2 Jazzy,
#: identical for Image / CameraInfo / PointCloud2 / TFMessage from Humble on).
TYPESTORE = get_typestore(Stores.ROS2_JAZZY)

_T = TYPESTORE.types
#: PointField datatype codes (sensor_msgs/PointField constants).
FLOAT32, UINT16 = 7, 4
#: Record layout of the clouds we write: x, y, z, intensity float32, ring uint16, 2 bytes padding.
CLOUD_DTYPE = np.dtype({"names": ["x", "y", "z", "intensity", "ring"],
                        "formats": ["<f4", "<f4", "<f4", "<f4", "<u2"],
                        "offsets": [0, 4, 8, 12, 16], "itemsize": 20})


def header(stamp_ns: int, frame_id: str) -> Any:
    """A std_msgs/Header for a stamp in integer nanoseconds since the epoch."""
    if stamp_ns < 0:
        raise InputError(f"header stamp must be >= 0 ns, got {stamp_ns}")
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return _T["std_msgs/msg/Header"](
        stamp=_T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame_id)


def stamp_to_ns(stamp: Any) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time (rosbags or rclpy message)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def rgb_image(rgb: UInt8Array, stamp_ns: int, frame_id: str) -> Any:
    """sensor_msgs/Image, encoding rgb8, from an (H, W, 3) uint8 RGB array."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"rgb image must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    return _T["sensor_msgs/msg/Image"](
        header=header(stamp_ns, frame_id), height=height, width=width, encoding="rgb8",
        is_bigendian=0, step=width * 3,
        data=np.ascontiguousarray(rgb).reshape(-1).view(np.uint8))


def compressed_image(rgb: UInt8Array, stamp_ns: int, frame_id: str, codec: str,
                     quality: int = 95) -> Any:
    """sensor_msgs/CompressedImage of an (H, W, 3) uint8 RGB array, as image_transport's
    compressed publisher writes an rgb8 image (``format`` ``"rgb8; jpeg compressed bgr8"``).

    Args:
        codec: ``"jpeg"`` or ``"png"`` (lossless). quality: JPEG quality, 1-100.
    """
    fmt, data = encode_rgb(rgb, codec, quality)
    return _T["sensor_msgs/msg/CompressedImage"](
        header=header(stamp_ns, frame_id), format=fmt, data=np.frombuffer(data, np.uint8))


def rectified_camera_info(width: int, height: int, K: Array, stamp_ns: int,
                          frame_id: str) -> Any:
    """sensor_msgs/CameraInfo of an already rectified image: P = [K | 0], R = I, D = 0.

    Args:
        width, height: image size in pixels.
        K: (3, 3) intrinsics of the rectified image (pixels).
        stamp_ns: stamp in nanoseconds.
        frame_id: the camera's optical frame.
    """
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise InputError(f"K must be (3, 3), got {K.shape}")
    P = np.hstack([K, np.zeros((3, 1))])
    roi = _T["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return _T["sensor_msgs/msg/CameraInfo"](
        header=header(stamp_ns, frame_id), height=height, width=width,
        distortion_model="plumb_bob", d=np.zeros(5), k=K.reshape(-1), r=np.eye(3).reshape(-1),
        p=P.reshape(-1), binning_x=0, binning_y=0, roi=roi)


def point_cloud(points: Array, rings: Array, stamp_ns: int, frame_id: str) -> Any:
    """sensor_msgs/PointCloud2 with fields x, y, z, intensity (float32) and ring (uint16).

    Args:
        points: (N, 4) float32 x, y, z (metres, LiDAR frame), intensity.
        rings: (N,) integer ring (beam) index per point, 0..65535.
        stamp_ns: stamp in nanoseconds.
        frame_id: the LiDAR frame.
    """
    if points.ndim != 2 or points.shape[1] != 4:
        raise InputError(f"points must be (N, 4) x, y, z, intensity, got {points.shape}")
    if rings.shape != (points.shape[0],):
        raise InputError(f"rings must be ({points.shape[0]},), got {rings.shape}")
    record = np.zeros(points.shape[0], dtype=CLOUD_DTYPE)
    for i, name in enumerate(("x", "y", "z", "intensity")):
        record[name] = points[:, i]
    record["ring"] = rings
    fields = [_T["sensor_msgs/msg/PointField"](name=n, offset=o, datatype=t, count=1)
              for n, o, t in (("x", 0, FLOAT32), ("y", 4, FLOAT32), ("z", 8, FLOAT32),
                              ("intensity", 12, FLOAT32), ("ring", 16, UINT16))]
    return _T["sensor_msgs/msg/PointCloud2"](
        header=header(stamp_ns, frame_id), height=1, width=points.shape[0], fields=fields,
        is_bigendian=False, point_step=CLOUD_DTYPE.itemsize,
        row_step=CLOUD_DTYPE.itemsize * points.shape[0], data=record.view(np.uint8),
        is_dense=True)


def static_transform(parent_T_child: Array, parent: str, child: str, stamp_ns: int) -> Any:
    """tf2_msgs/TFMessage with one transform: the pose of ``child`` in ``parent``.

    Args:
        parent_T_child: (4, 4) rigid transform mapping ``child``-frame points into ``parent``
            (metres). Its rotation is stored as a unit quaternion (orthonormalised by OpenCV).
    """
    T = np.asarray(parent_T_child, dtype=np.float64)
    if T.shape != (4, 4):
        raise InputError(f"transform must be (4, 4), got {T.shape}")
    qx, qy, qz, qw = rotation_to_quaternion(T[:3, :3])
    transform = _T["geometry_msgs/msg/Transform"](
        translation=_T["geometry_msgs/msg/Vector3"](x=T[0, 3], y=T[1, 3], z=T[2, 3]),
        rotation=_T["geometry_msgs/msg/Quaternion"](x=qx, y=qy, z=qz, w=qw))
    stamped = _T["geometry_msgs/msg/TransformStamped"](
        header=header(stamp_ns, parent), child_frame_id=child, transform=transform)
    return _T["tf2_msgs/msg/TFMessage"](transforms=[stamped])


def rotation_to_quaternion(R: Array) -> tuple[float, float, float, float]:
    """(x, y, z, w) unit quaternion of a (3, 3) rotation, via OpenCV's Rodrigues vector."""
    rvec, _ = cv2.Rodrigues(np.asarray(R, dtype=np.float64))
    angle = float(np.linalg.norm(rvec))
    axis = rvec.ravel() / angle if angle > 0 else np.zeros(3)
    x, y, z = axis * np.sin(angle / 2)
    return float(x), float(y), float(z), float(np.cos(angle / 2))


def quaternion_to_rotation(x: float, y: float, z: float, w: float) -> Float64Array:
    """(3, 3) rotation matrix of a quaternion (normalised first), via OpenCV's Rodrigues."""
    q = np.array([x, y, z, w], dtype=np.float64)
    norm = np.linalg.norm(q)
    if not np.isfinite(norm) or norm == 0:
        raise InputError(f"quaternion must be finite and non-zero, got {q.tolist()}")
    q /= norm
    if q[3] < 0:
        q = -q
    sin_half = np.linalg.norm(q[:3])
    angle = 2.0 * np.arctan2(sin_half, q[3])
    rvec = q[:3] / sin_half * angle if sin_half > 0 else np.zeros(3)
    R, _ = cv2.Rodrigues(rvec.reshape(3, 1))
    return np.asarray(R, np.float64)  # float64 already (cv2 keeps the type): no copy
