"""KITTI calibration in both layouts: object-benchmark ``calib.txt`` and raw ``calib_*.txt``.

Object layout (one file): ``P0``..``P3`` (3x4), ``R0_rect`` (3x3), ``Tr_velo_to_cam`` (3x4).
Raw layout (a date folder): ``calib_cam_to_cam.txt`` (``K_0i``, ``D_0i``, ``S_rect_0i``,
``R_rect_00``, ``P_rect_0i``) and ``calib_velo_to_cam.txt`` (``R`` 3x3, ``T`` 3).
Both give the same LiDAR -> image projection ``P_i @ R0_rect(4x4) @ Tr_velo_to_cam(4x4)``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from depth_completion_ros.arrays import Array, Float64Array
from depth_completion_ros.errors import CalibrationError
from depth_completion_ros.geometry.camera import PinholeCamera


def read_key_values(path: str | Path) -> dict[str, str]:
    """Read a ``key: values`` text file into a dict of raw value strings.

    Raises:
        CalibrationError: The file cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise CalibrationError(f"{path}: cannot read calibration file ({err})") from err
    entries: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            entries[key.strip()] = value.strip()
    return entries


def parse_matrix(entries: Mapping[str, str], key: str, shape: tuple[int, ...],
                 path: str | Path) -> Float64Array:
    """Parse ``entries[key]`` as a float64 array of ``shape``.

    Raises:
        CalibrationError: The key is missing, a value is not a number, or the count is wrong;
            the message names the file and the key.
    """
    if key not in entries:
        raise CalibrationError(f"{path}: missing key {key!r} (have {sorted(entries)})")
    try:
        values = np.array(entries[key].split(), dtype=np.float64)
    except ValueError as err:
        raise CalibrationError(f"{path}: key {key!r} holds a non-number: {entries[key]!r}") from err
    expected = int(np.prod(shape))
    if values.size != expected:
        raise CalibrationError(f"{path}: key {key!r} needs {expected} numbers, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise CalibrationError(f"{path}: key {key!r} holds a non-finite value: {entries[key]!r}")
    return values.reshape(shape)


def to_homogeneous(matrix: Array) -> Float64Array:
    """Extend a (3, 3) rotation or (3, 4) transform to a (4, 4) float64 matrix."""
    out = np.eye(4)
    out[:3, : matrix.shape[1]] = matrix
    return out


@dataclass(frozen=True, eq=False)
class KittiCalibration:
    """Calibration of one KITTI recording day.

    Attributes:
        P_rect: camera index -> (3, 4) rectified projection (pixels; baseline in column 3).
        R_rect: (3, 3) rectifying rotation of camera 0 (``R0_rect`` / ``R_rect_00``).
        velo_to_cam: (4, 4) Velodyne -> unrectified camera 0, metres.
        K: camera index -> (3, 3) raw intrinsics (raw layout only).
        D: camera index -> (5,) raw plumb_bob distortion (raw layout only).
        image_size: camera index -> rectified (width, height) (raw layout only).
        source: File or folder the values came from.
    """

    P_rect: Mapping[int, Float64Array]
    R_rect: Float64Array
    velo_to_cam: Float64Array
    K: Mapping[int, Float64Array] = field(default_factory=dict)
    D: Mapping[int, Float64Array] = field(default_factory=dict)
    image_size: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    source: str = ""

    def lidar_to_camera(self) -> Float64Array:
        """(4, 4) LiDAR -> rectified camera frame: ``R0_rect(4x4) @ Tr_velo_to_cam``."""
        return to_homogeneous(self.R_rect) @ self.velo_to_cam

    def projection(self, cam: int = 2) -> Float64Array:
        """(3, 4) LiDAR point (homogeneous, metres) -> image ``cam`` pixel (homogeneous)."""
        return self._P(cam) @ self.lidar_to_camera()

    def _P(self, cam: int) -> Float64Array:
        if cam not in self.P_rect:
            raise CalibrationError(f"{self.source}: no projection for camera {cam} "
                                   f"(have {sorted(self.P_rect)})")
        return self.P_rect[cam]

    def camera(self, cam: int = 2, width: int | None = None,
               height: int | None = None) -> PinholeCamera:
        """Rectified camera ``cam`` (KITTI images are rectified); size defaults to ``S_rect``.

        ``K = P[:, :3]``, no distortion and ``R`` identity (``lidar_to_camera()`` already
        rectifies); the raw cameras' ``K`` / ``D`` stay available as attributes.

        Raises:
            CalibrationError: Unknown camera, or no size given and none in the file.
        """
        P = self._P(cam)
        if width is None or height is None:
            if cam not in self.image_size:
                raise CalibrationError(f"{self.source}: no image size for camera {cam}; pass "
                                       f"width and height")
            width, height = self.image_size[cam]
        try:
            return PinholeCamera(width, height, P[:, :3], np.zeros(5), np.eye(3), P, "plumb_bob")
        except CalibrationError as err:
            raise CalibrationError(f"{self.source}: camera {cam}: {err}") from err


def read_object_calib(path: str | Path) -> KittiCalibration:
    """Read an object-benchmark ``calib.txt`` (P0..P3, R0_rect, Tr_velo_to_cam).

    Raises:
        CalibrationError: File unreadable, a key missing or a wrong count of numbers.
    """
    entries = read_key_values(path)
    P = {i: parse_matrix(entries, f"P{i}", (3, 4), path) for i in range(4) if f"P{i}" in entries}
    if 2 not in P:
        parse_matrix(entries, "P2", (3, 4), path)  # raises: missing key
    rect_key = "R0_rect" if "R0_rect" in entries or "R_rect" not in entries else "R_rect"
    velo_key = "Tr_velo_to_cam" if "Tr_velo_cam" not in entries else "Tr_velo_cam"
    return KittiCalibration(
        P_rect=P,
        R_rect=parse_matrix(entries, rect_key, (3, 3), path),
        velo_to_cam=to_homogeneous(parse_matrix(entries, velo_key, (3, 4), path)),
        source=str(path),
    )


def read_raw_calib(folder: str | Path) -> KittiCalibration:
    """Read a raw-dataset date folder (``calib_cam_to_cam.txt`` + ``calib_velo_to_cam.txt``).

    Raises:
        CalibrationError: A file unreadable, a key missing or a wrong count of numbers.
    """
    folder = Path(folder)
    c2c_path, v2c_path = folder / "calib_cam_to_cam.txt", folder / "calib_velo_to_cam.txt"
    c2c, v2c = read_key_values(c2c_path), read_key_values(v2c_path)
    cams = [i for i in range(4) if f"P_rect_0{i}" in c2c]
    if 2 not in cams:
        parse_matrix(c2c, "P_rect_02", (3, 4), c2c_path)  # raises: missing key
    velo = np.hstack([parse_matrix(v2c, "R", (3, 3), v2c_path),
                      parse_matrix(v2c, "T", (3, 1), v2c_path)])
    sizes = {i: parse_matrix(c2c, f"S_rect_0{i}", (2,), c2c_path) for i in cams
             if f"S_rect_0{i}" in c2c}
    return KittiCalibration(
        P_rect={i: parse_matrix(c2c, f"P_rect_0{i}", (3, 4), c2c_path) for i in cams},
        R_rect=parse_matrix(c2c, "R_rect_00", (3, 3), c2c_path),
        velo_to_cam=to_homogeneous(velo),
        K={i: parse_matrix(c2c, f"K_0{i}", (3, 3), c2c_path) for i in cams if f"K_0{i}" in c2c},
        D={i: parse_matrix(c2c, f"D_0{i}", (5,), c2c_path) for i in cams if f"D_0{i}" in c2c},
        image_size={i: (int(round(s[0])), int(round(s[1]))) for i, s in sizes.items()},
        source=str(folder),
    )
