"""sensor_msgs Image / CameraInfo / PointCloud2 -> numpy, with numpy only (no ROS import).

Readers are duck-typed on the message fields (``msg.height``, ``msg.data``, ``msg.fields[i].name``
...), so they accept rclpy messages and rosbags-deserialised messages alike: the node and the bag
tools decode with the same code. Every malformed message raises InputError naming the field and
value. The reverse direction (numpy -> sensor_msgs messages) needs the ROS message classes and
lives in :mod:`depth_completion_ros.ros.encoding`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, IntArray, UInt8Array, UInt16Array
from depth_completion_ros.errors import CalibrationError, InputError
from depth_completion_ros.geometry.camera import PinholeCamera

#: encoding -> (channels, channel order that gives RGB, or None for mono)
IMAGE_ENCODINGS: dict[str, tuple[int, tuple[int, int, int] | None]] = {
    "rgb8": (3, (0, 1, 2)), "bgr8": (3, (2, 1, 0)), "rgba8": (4, (0, 1, 2)),
    "bgra8": (4, (2, 1, 0)), "mono8": (1, None),
}
#: sensor_msgs/PointField datatype -> numpy type character
POINT_FIELD_TYPES: dict[int, str] = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4",
                                     7: "f4", 8: "f8"}


@dataclass(frozen=True)
class PointCloud:
    """A decoded PointCloud2, finite points only (no-return points at exactly (0, 0, 0) dropped).

    Attributes:
        xyz: (N, 3) float32, metres, in the cloud's frame.
        ring: (N,) int32 beam index, or None when the cloud has no ``ring`` field.
        intensity: (N,) float32, or None when the cloud has no ``intensity`` field.
    """

    xyz: Float32Array
    ring: IntArray | None = None
    intensity: Float32Array | None = None


def stamp_to_seconds(stamp: Any) -> float:
    """builtin_interfaces/Time (``sec``, ``nanosec``) -> float seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


def _byte_buffer(data: Any, needed: int, what: str) -> UInt8Array:
    """``data`` as a flat uint8 array without copying; InputError when shorter than ``needed``."""
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    if buf.size < needed:
        raise InputError(f"{what}.data: {buf.size} bytes, layout needs {needed} (truncated)")
    return buf


def check_image_layout(msg: Any) -> tuple[int, tuple[int, int, int] | None]:
    """Check an Image's encoding, size, ``step`` and data length (shared by every decoder).

    Returns:
        (channels, channel order giving RGB or None for mono8) of :data:`IMAGE_ENCODINGS`.

    Raises:
        InputError: unsupported encoding, zero size, ``step`` too small or data truncated.
    """
    encoding = str(msg.encoding).lower()
    if encoding not in IMAGE_ENCODINGS:
        raise InputError(f"Image.encoding: {msg.encoding!r} is not supported; "
                         f"use one of {sorted(IMAGE_ENCODINGS)}")
    channels, order = IMAGE_ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise InputError(f"Image size: {width}x{height} is empty")
    if step < width * channels:
        raise InputError(f"Image.step: {step} < width {width} * {channels} channels")
    _byte_buffer(msg.data, (height - 1) * step + width * channels, "Image")
    return channels, order


def image_to_rgb(msg: Any) -> UInt8Array:
    """sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8) -> (H, W, 3) uint8 RGB.

    A strided view of the message buffer (no copy) for rgb8 / bgr8 / rgba8 / bgra8, honouring row
    padding (``step`` > width * channels); mono8 is replicated into three channels (a copy).
    The view is read-only when the message buffer is.

    Raises:
        InputError: unsupported encoding, zero size, ``step`` too small or data truncated.
    """
    channels, order = check_image_layout(msg)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    buf = _byte_buffer(msg.data, (height - 1) * step + width * channels, "Image")
    pixels = np.lib.stride_tricks.as_strided(buf, shape=(height, width, channels),
                                             strides=(step, channels, 1), writeable=False)
    if order is None:
        return np.repeat(pixels, 3, axis=2)
    return pixels[:, :, list(order)] if order != (0, 1, 2) else pixels[:, :, :3]


def _cloud_dtype(msg: Any) -> np.dtype[np.void]:
    """Structured numpy dtype of one point (x, y, z and optional ring / intensity)."""
    order = ">" if bool(msg.is_bigendian) else "<"
    names, formats, offsets = [], [], []
    for field in msg.fields:
        if field.name not in ("x", "y", "z", "ring", "intensity"):
            continue
        kind = POINT_FIELD_TYPES.get(int(field.datatype))
        if kind is None:
            raise InputError(f"PointCloud2.fields[{field.name!r}].datatype: {field.datatype} "
                             "unknown")
        if field.name in "xyz" and kind not in ("f4", "f8"):
            raise InputError(f"PointCloud2.fields[{field.name!r}].datatype: {field.datatype}, "
                             "expected FLOAT32 (7) or FLOAT64 (8)")
        names.append(field.name)
        formats.append(order + kind)
        offsets.append(int(field.offset))
    missing = [axis for axis in "xyz" if axis not in names]
    if missing:
        raise InputError(f"PointCloud2.fields: no {missing} among "
                         f"{[f.name for f in msg.fields]}")
    point_step = int(msg.point_step)
    end = max(o + np.dtype(f).itemsize for o, f in zip(offsets, formats))
    if point_step < end:
        raise InputError(f"PointCloud2.point_step: {point_step} < field end {end}")
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": point_step})


def check_cloud_layout(msg: Any) -> np.dtype[np.void]:
    """Check a PointCloud2's fields, strides and data length (shared by every decoder).

    Returns:
        The structured dtype of one point (x, y, z and optional ring / intensity, itemsize
        ``point_step``).

    Raises:
        InputError: no x / y / z, bad strides, truncated data or an empty cloud.
    """
    dtype = _cloud_dtype(msg)
    height, width = int(msg.height), int(msg.width)
    row_step = int(msg.row_step)
    if height < 0 or width < 0 or row_step < width * dtype.itemsize:
        raise InputError(f"PointCloud2 layout: {width}x{height}, row_step {row_step} "
                         f"< width * point_step {width * dtype.itemsize}")
    needed = (height - 1) * row_step + width * dtype.itemsize if height * width else 0
    _byte_buffer(msg.data, needed, "PointCloud2")
    if height * width == 0:
        raise InputError("PointCloud2: the cloud is empty (0 points)")
    return dtype


def finite_cloud(xyz: Array, ring: Array | None, intensity: Array | None) -> PointCloud:
    """Keep the points whose x, y, z are all finite and not all exactly 0.

    NaN / inf are dropped, and so is (0, 0, 0): the sensor's own origin, which Ouster and other
    drivers publish for every no-return pixel of an organised cloud. Kept, those points would
    project to the LiDAR origin's pixel whenever the camera sits behind the LiDAR, as one
    invented near measurement.

    Args:
        xyz: (N, 3) coordinates, metres. ring, intensity: (N,) or None.

    Raises:
        InputError: no point is finite.
    """
    xyz = np.asarray(xyz, dtype=np.float32)
    keep = np.isfinite(xyz).all(axis=1) & xyz.any(axis=1)
    if not keep.any():
        raise InputError(f"PointCloud2: none of its {xyz.shape[0]} points is finite and non-zero")
    return PointCloud(xyz=xyz[keep],
                      ring=None if ring is None else ring[keep].astype(np.int32),
                      intensity=None if intensity is None else intensity[keep].astype(np.float32))


def cloud_to_points(msg: Any) -> PointCloud:
    """sensor_msgs/PointCloud2 -> finite points, organised (height > 1) or not.

    x, y, z may be FLOAT32 or FLOAT64 at any offsets, any ``point_step`` and ``row_step``, either
    endianness; ``ring`` (any integer type) and ``intensity`` are read when present. Points with a
    NaN / inf coordinate are dropped (``is_dense`` false), and so are no-return points at exactly
    (0, 0, 0) (see :func:`finite_cloud`).

    Raises:
        InputError: no x / y / z, truncated data, bad strides, or no finite point at all.
    """
    dtype = check_cloud_layout(msg)
    buf = _byte_buffer(msg.data, 0, "PointCloud2")
    points: Array = np.ndarray((int(msg.height), int(msg.width)), dtype=dtype, buffer=buf,
                               strides=(int(msg.row_step), dtype.itemsize)).reshape(-1)
    xyz = np.stack([points["x"], points["y"], points["z"]], axis=-1)
    names = dtype.names or ()  # never None: the dtype is structured (x, y, z at least)
    return finite_cloud(xyz, points["ring"] if "ring" in names else None,
                        points["intensity"] if "intensity" in names else None)


def camera_info_fields(msg: Any) -> dict[str, Any]:
    """sensor_msgs/CameraInfo -> keyword arguments of ``PinholeCamera.from_camera_info``.

    Raises:
        InputError: zero size, or K without positive finite focal lengths (e.g. all zeros).
    """
    k = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if not (np.isfinite(k).all() and k[0, 0] > 0 and k[1, 1] > 0):
        raise InputError(f"CameraInfo.k: {k.reshape(-1).tolist()} has no positive focal lengths")
    if int(msg.width) <= 0 or int(msg.height) <= 0:
        raise InputError(f"CameraInfo size: {msg.width}x{msg.height} is empty")
    return {"width": int(msg.width), "height": int(msg.height), "k": k.reshape(-1),
            "d": np.asarray(msg.d, dtype=np.float64), "r": np.asarray(msg.r, dtype=np.float64),
            "p": np.asarray(msg.p, dtype=np.float64),
            "distortion_model": str(msg.distortion_model)}


def camera_info_to_camera(msg: Any) -> PinholeCamera:
    """sensor_msgs/CameraInfo -> PinholeCamera (K, D, R, P, size).

    Raises:
        InputError: zero K, empty size, or a matrix / distortion model the camera rejects.
    """
    fields = camera_info_fields(msg)
    try:
        return PinholeCamera.from_camera_info(**fields)
    except CalibrationError as err:
        raise InputError(f"CameraInfo: {err}") from err


def depth_to_mm(depth: Array) -> UInt16Array:
    """(H, W) depth in metres -> (H, W) uint16 millimetres; 0 where NaN, clipped at 65535."""
    mm = np.nan_to_num(depth.astype(np.float64) * 1000.0, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(np.rint(mm), 0, 65535).astype(np.uint16)
