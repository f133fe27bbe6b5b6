"""sensor_msgs Image / CameraInfo / PointCloud2 -> numpy, with numpy only (no ROS import).

Readers are duck-typed on the message fields (``msg.height``, ``msg.data``, ``msg.fields[i].name``
...), so they accept rclpy messages and rosbags-deserialised messages alike: the node and the bag
tools decode with the same code. Every malformed message raises InputError naming the field and
value. The reverse direction (numpy -> sensor_msgs messages) needs the ROS message classes and
lives in :mod:`depth_completion_ros.ros.encoding`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from depth_completion_ros import message_fields as fields
from depth_completion_ros.arrays import Array, Float32Array, IntArray, UInt8Array, UInt16Array
from depth_completion_ros.errors import CalibrationError, InputError
from depth_completion_ros.geometry.camera import DISTORTION_MODELS, PinholeCamera

#: encoding -> (channels, channel order that gives RGB, or None for mono)
IMAGE_ENCODINGS: dict[str, tuple[int, tuple[int, int, int] | None]] = {
    "rgb8": (3, (0, 1, 2)), "bgr8": (3, (2, 1, 0)), "rgba8": (4, (0, 1, 2)),
    "bgra8": (4, (2, 1, 0)), "mono8": (1, None),
}
#: sensor_msgs/PointField datatype -> numpy type character
POINT_FIELD_TYPES: dict[int, str] = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4",
                                     7: "f4", 8: "f8"}
#: the PointCloud2 fields the decoders read (others are skipped)
CLOUD_FIELDS = ("x", "y", "z", "ring", "intensity")
#: most fields a PointCloud2 may list
MAX_FIELDS = 256


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
    """builtin_interfaces/Time (``sec``, ``nanosec``) -> float seconds.

    Raises:
        InputError: ``sec`` negative or not an integer, ``nanosec`` not in [0, 1e9).
    """
    return fields.stamp_seconds(stamp, "stamp")


def check_header(msg: Any, what: str) -> tuple[float, str]:
    """(stamp in seconds, frame_id) of a message's header, both checked.

    Args:
        msg: any stamped message (``msg.header.stamp``, ``msg.header.frame_id``).
        what: the message type, for the error text (``"Image"``).

    Raises:
        InputError: no header, a bad stamp (see :func:`message_fields.stamp_seconds`) or an odd
            frame id (see :func:`message_fields.frame_id`).
    """
    header = fields.get(msg, "header", what)
    stamp = fields.get(header, "stamp", f"{what}.header")
    return fields.stamp_seconds(stamp, f"{what}.header.stamp"), fields.frame_id(header, what)


@dataclass(frozen=True)
class ImageLayout:
    """A checked Image layout: size (pixels), ``step`` (bytes per row), channels, and the channel
    order giving RGB (None for mono8)."""

    height: int
    width: int
    step: int
    channels: int
    order: tuple[int, int, int] | None


def check_image_layout(msg: Any) -> ImageLayout:
    """Check an Image's encoding, size, ``step`` and data length (shared by every decoder).

    Raises:
        InputError: unsupported encoding, empty or too large size, ``step`` too small or data
            truncated (or any of these fields missing or of the wrong type).
    """
    encoding = fields.text(msg, "encoding", "Image", max_len=64)
    if encoding.lower() not in IMAGE_ENCODINGS:
        raise InputError(f"Image.encoding: {fields.shown(encoding)} is not supported; "
                         f"use one of {sorted(IMAGE_ENCODINGS)}")
    channels, order = IMAGE_ENCODINGS[encoding.lower()]
    height = fields.integer(msg, "height", "Image", 0, fields.MAX_IMAGE_SIDE)
    width = fields.integer(msg, "width", "Image", 0, fields.MAX_IMAGE_SIDE)
    if height == 0 or width == 0:
        raise InputError(f"Image size: {width}x{height} is empty")
    if height * width > fields.MAX_IMAGE_PIXELS:
        raise InputError(f"Image size: {width}x{height} exceeds {fields.MAX_IMAGE_PIXELS} pixels")
    step = fields.integer(msg, "step", "Image", 0, fields.MAX_UINT32)
    if step < width * channels:
        raise InputError(f"Image.step: {step} < width {width} * {channels} channels")
    fields.byte_buffer(msg, "Image", (height - 1) * step + width * channels)
    return ImageLayout(height, width, step, channels, order)


def image_to_rgb(msg: Any) -> UInt8Array:
    """sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8) -> (H, W, 3) uint8 RGB.

    A strided view of the message buffer (no copy) for rgb8 / bgr8 / rgba8 / bgra8, honouring row
    padding (``step`` > width * channels); mono8 is replicated into three channels (a copy).
    The view is read-only when the message buffer is.

    Raises:
        InputError: unsupported encoding, zero size, ``step`` too small or data truncated.
    """
    layout = check_image_layout(msg)
    height, width, step, channels = layout.height, layout.width, layout.step, layout.channels
    buf = fields.byte_buffer(msg, "Image", (height - 1) * step + width * channels)
    pixels = np.lib.stride_tricks.as_strided(buf, shape=(height, width, channels),
                                             strides=(step, channels, 1), writeable=False)
    if layout.order is None:
        return np.repeat(pixels, 3, axis=2)
    return pixels[:, :, list(layout.order)] if layout.order != (0, 1, 2) else pixels[:, :, :3]


def _cloud_fields(msg: Any) -> list[tuple[str, str, int]]:
    """(name, numpy type character, offset) of the fields read (x, y, z, ring, intensity).

    Other fields are skipped after their name is read. Each field read must be unique, of a known
    datatype (x, y, z floating, ring integer), with ``count`` 1.
    """
    table = fields.get(msg, "fields", "PointCloud2")
    if isinstance(table, (str, bytes)) or not isinstance(table, Sequence):
        raise InputError(f"PointCloud2.fields: expected a list of PointField, got "
                         f"{fields.shown(table)}")
    if len(table) > MAX_FIELDS:
        raise InputError(f"PointCloud2.fields: {len(table)} fields, at most {MAX_FIELDS}")
    read: dict[str, tuple[str, str, int]] = {}
    for i, field in enumerate(table):
        name = fields.text(field, "name", f"PointCloud2.fields[{i}]")
        if name not in CLOUD_FIELDS:
            continue
        what = f"PointCloud2.fields[{name!r}]"
        if name in read:
            raise InputError(f"{what}: the field appears twice")
        datatype = fields.integer(field, "datatype", what, 0, 255)
        kind = POINT_FIELD_TYPES.get(datatype)
        if kind is None:
            raise InputError(f"{what}.datatype: {datatype} unknown (1..8)")
        if name in "xyz" and kind not in ("f4", "f8"):
            raise InputError(f"{what}.datatype: {datatype}, expected FLOAT32 (7) or FLOAT64 (8)")
        if name == "ring" and kind in ("f4", "f8"):
            raise InputError(f"{what}.datatype: {datatype}, expected an integer type (1..6)")
        fields.integer(field, "count", what, 1, 1)
        offset = fields.integer(field, "offset", what, 0, fields.MAX_POINT_STEP)
        read[name] = (name, kind, offset)
    missing = [axis for axis in "xyz" if axis not in read]
    if missing:
        names = [fields.text(f, "name", "PointCloud2.fields") for f in table]  # read above
        raise InputError(f"PointCloud2.fields: no {missing} among {names}")
    return list(read.values())


def _cloud_dtype(msg: Any) -> np.dtype[np.void]:
    """Structured numpy dtype of one point (x, y, z and optional ring / intensity).

    Raises:
        InputError: see :func:`_cloud_fields`; fields overlapping or ending past ``point_step``.
    """
    order = ">" if fields.flag(msg, "is_bigendian", "PointCloud2") else "<"
    table = sorted(_cloud_fields(msg), key=lambda f: f[2])
    point_step = fields.integer(msg, "point_step", "PointCloud2", 1, fields.MAX_POINT_STEP)
    end = 0
    for name, kind, offset in table:
        if offset < end:
            raise InputError(f"PointCloud2.fields[{name!r}].offset: {offset} overlaps the field "
                             f"before it (ends at {end})")
        end = offset + np.dtype(kind).itemsize
    if point_step < end:
        raise InputError(f"PointCloud2.point_step: {point_step} < field end {end}")
    try:
        return np.dtype({"names": [f[0] for f in table],
                         "formats": [order + f[1] for f in table],
                         "offsets": [f[2] for f in table], "itemsize": point_step})
    except (TypeError, ValueError) as err:  # not expected after the checks above
        raise InputError(f"PointCloud2 fields {table}, point_step {point_step}: {err}") from err


def _cloud_layout(msg: Any) -> tuple[np.dtype[np.void], int, int, int, UInt8Array]:
    """(point dtype, height, width, row_step, data bytes) of a checked PointCloud2."""
    dtype = _cloud_dtype(msg)
    height = fields.integer(msg, "height", "PointCloud2", 0, fields.MAX_CLOUD_POINTS)
    width = fields.integer(msg, "width", "PointCloud2", 0, fields.MAX_CLOUD_POINTS)
    row_step = fields.integer(msg, "row_step", "PointCloud2", 0, fields.MAX_UINT32)
    if height * width > fields.MAX_CLOUD_POINTS:
        raise InputError(f"PointCloud2 size: {width}x{height} exceeds "
                         f"{fields.MAX_CLOUD_POINTS} points")
    if row_step < width * dtype.itemsize:
        raise InputError(f"PointCloud2 layout: {width}x{height}, row_step {row_step} "
                         f"< width * point_step {width * dtype.itemsize}")
    needed = (height - 1) * row_step + width * dtype.itemsize if height * width else 0
    buf = fields.byte_buffer(msg, "PointCloud2", needed)
    if height * width == 0:
        raise InputError("PointCloud2: the cloud is empty (0 points)")
    return dtype, height, width, row_step, buf


def check_cloud_layout(msg: Any) -> np.dtype[np.void]:
    """Check a PointCloud2's fields, strides and data length (shared by every decoder).

    Returns:
        The structured dtype of one point (x, y, z and optional ring / intensity, itemsize
        ``point_step``).

    Raises:
        InputError: no x / y / z, a field twice, of an unknown type or count, overlapping,
            bad strides or sizes, truncated data or an empty cloud.
    """
    return _cloud_layout(msg)[0]


def finite_cloud(xyz: Array, ring: Array | None, intensity: Array | None) -> PointCloud:
    """Keep the points whose x, y, z are all finite and not all exactly 0.

    NaN / inf are dropped, and so is (0, 0, 0): the sensor's own origin, which Ouster and other
    drivers publish for every no-return pixel of an organised cloud. Kept, those points would
    project to the LiDAR origin's pixel whenever the camera sits behind the LiDAR, as one
    invented near measurement.

    Args:
        xyz: (N, 3) coordinates, metres. ring, intensity: (N,) or None.

    Returns:
        The kept points; when every point is kept, ``xyz`` itself (float32) without a copy.

    Raises:
        InputError: no point is finite.
    """
    xyz = np.asarray(xyz, dtype=np.float32)
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]  # per column: 1-D ufuncs, no (N, 3) reductions
    keep = np.isfinite(x)
    keep &= np.isfinite(y)
    keep &= np.isfinite(z)
    nonzero = x != 0
    nonzero |= y != 0
    nonzero |= z != 0
    keep &= nonzero
    if keep.all():
        return PointCloud(xyz=xyz, ring=None if ring is None else ring.astype(np.int32),
                          intensity=None if intensity is None else
                          intensity.astype(np.float32))
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
        InputError: see :func:`check_cloud_layout`, or no finite point at all.
    """
    dtype, height, width, row_step, buf = _cloud_layout(msg)
    points: Array = np.ndarray((height, width), dtype=dtype, buffer=buf,
                               strides=(row_step, dtype.itemsize)).reshape(-1)
    xyz = np.stack([points["x"], points["y"], points["z"]], axis=-1)
    names = dtype.names or ()  # never None: the dtype is structured (x, y, z at least)
    return finite_cloud(xyz, points["ring"] if "ring" in names else None,
                        points["intensity"] if "intensity" in names else None)


def camera_info_fields(msg: Any) -> dict[str, Any]:
    """sensor_msgs/CameraInfo -> keyword arguments of ``PinholeCamera.from_camera_info``.

    Every field the camera is built from is checked: size, distortion model and the length of
    ``d`` it takes, ``k`` / ``r`` / ``p`` (9, 9, 12 finite numbers; K and P with positive focal
    lengths and the last row of a pinhole matrix). Binning and a region of interest are refused:
    the node projects with the full-resolution calibration.

    Raises:
        InputError: naming the field and its value.
    """
    width = fields.integer(msg, "width", "CameraInfo", 0, fields.MAX_IMAGE_SIDE)
    height = fields.integer(msg, "height", "CameraInfo", 0, fields.MAX_IMAGE_SIDE)
    if width == 0 or height == 0:
        raise InputError(f"CameraInfo size: {width}x{height} is empty")
    model = fields.text(msg, "distortion_model", "CameraInfo", max_len=64) or "plumb_bob"
    if model not in DISTORTION_MODELS:
        raise InputError(f"CameraInfo.distortion_model: {fields.shown(model)} is not one of "
                         f"{sorted(DISTORTION_MODELS)}")
    d = fields.numbers(msg, "d", "CameraInfo", DISTORTION_MODELS[model])
    k, r, p = (fields.numbers(msg, name, "CameraInfo", (size,))
               for name, size in (("k", 9), ("r", 9), ("p", 12)))
    for name, matrix in (("k", k.reshape(3, 3)), ("p", p.reshape(3, 4))):
        if not (matrix[0, 0] > 0 and matrix[1, 1] > 0):
            raise InputError(f"CameraInfo.{name}: {matrix.reshape(-1).tolist()} has no positive "
                             "focal lengths")
        if not np.allclose(matrix[2, :3], [0.0, 0.0, 1.0]):
            raise InputError(f"CameraInfo.{name}: third row {matrix[2].tolist()}, expected "
                             "[0, 0, 1, ...]")
    _check_binning_and_roi(msg, width, height)
    return {"width": width, "height": height, "k": k, "d": d, "r": r, "p": p,
            "distortion_model": model}


def _check_binning_and_roi(msg: Any, width: int, height: int) -> None:
    """Binning 0 / 1 and a zero or full-image ROI (fields a duck-typed message may lack)."""
    for name in ("binning_x", "binning_y"):
        if hasattr(msg, name):
            fields.integer(msg, name, "CameraInfo", 0, 1)
    roi = getattr(msg, "roi", None)
    if roi is None:
        return
    box = tuple(fields.integer(roi, name, "CameraInfo.roi", 0, fields.MAX_UINT32)
                for name in ("x_offset", "y_offset", "width", "height"))
    if box not in ((0, 0, 0, 0), (0, 0, width, height)):
        raise InputError(f"CameraInfo.roi: (x_offset, y_offset, width, height) {box} is a part "
                         f"of the {width}x{height} image; only the full image is supported")


def camera_info_to_camera(msg: Any) -> PinholeCamera:
    """sensor_msgs/CameraInfo -> PinholeCamera (K, D, R, P, size).

    Raises:
        InputError: see :func:`camera_info_fields`, or a calibration the camera rejects.
    """
    values = camera_info_fields(msg)
    try:
        return PinholeCamera.from_camera_info(**values)
    except CalibrationError as err:
        raise InputError(f"CameraInfo: {err}") from err


def depth_to_mm(depth: Array) -> UInt16Array:
    """(H, W) depth in metres -> (H, W) uint16 millimetres; 0 where NaN, clipped at 65535."""
    mm = np.nan_to_num(depth.astype(np.float64) * 1000.0, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(np.rint(mm), 0, 65535).astype(np.uint16)
