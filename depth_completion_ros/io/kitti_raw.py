"""KITTI raw frames (RGB image, Velodyne ``.bin`` scan, calibration, timestamps), two layouts.

* flat (the embedded / seq16 samples): ``calib.txt``, ``image_02/data/*.png``,
  ``velodyne_points/data/*.bin``; no timestamps.
* official raw: ``<date>/calib_*.txt`` and ``<date>/<date>_drive_<n>_sync/{image_02,
  velodyne_points}/{data/*, timestamps.txt}``. :func:`open_sequence` accepts the drive folder,
  the date folder or any folder holding the date folder (``drive`` picks one of several drives).

Frames pair image and scan by file stem; timestamp line ``i`` belongs to frame ``i``. KITTI stamps
are wall-clock times without a zone; they are read as UTC and returned as int64 nanoseconds.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, IntArray, UInt8Array
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.io.kitti_calib import KittiCalibration, read_object_calib, read_raw_calib


def read_velodyne_bin(path: str | Path) -> Float32Array:
    """Read a KITTI Velodyne scan: (N, 4) float32 x, y, z (metres, LiDAR frame), reflectance.

    Raises:
        DataFormatError: Unreadable file or a size that is not a multiple of 16 bytes.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.float32)
    except OSError as err:
        raise DataFormatError(f"{path}: cannot read Velodyne scan ({err})") from err
    if raw.size % 4:
        raise DataFormatError(f"{path}: size {raw.size * 4} bytes is not a multiple of 16 "
                              f"(x, y, z, reflectance float32 records)")
    return raw.reshape(-1, 4)


def read_rgb(path: str | Path) -> UInt8Array:
    """Read an image file as (H, W, 3) uint8 RGB (grey images are expanded).

    Raises:
        DataFormatError: Missing or undecodable file, or not 8-bit.
    """
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataFormatError(f"{path}: cannot read image (missing or not an image)")
    if image.dtype != np.uint8:
        raise DataFormatError(f"{path}: expected an 8-bit image, got {image.dtype}")
    if image.ndim == 2:
        code = cv2.COLOR_GRAY2RGB
    else:
        code = cv2.COLOR_BGRA2RGB if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
    rgb: Array = cv2.cvtColor(image, code)  # uint8 in, uint8 out
    return rgb


def read_timestamps(path: str | Path) -> IntArray:
    """Read a KITTI ``timestamps.txt`` (``YYYY-MM-DD HH:MM:SS.fffffffff``) as int64 ns (UTC).

    Raises:
        DataFormatError: Unreadable file or a malformed line (named by number).
    """
    path = Path(path)
    try:
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as err:
        raise DataFormatError(f"{path}: cannot read timestamps ({err})") from err
    stamps = np.empty(len(lines), np.int64)
    for i, line in enumerate(lines):
        try:
            whole, _, frac = line.partition(".")
            sec = datetime.strptime(whole, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            stamps[i] = int(sec.timestamp()) * 10**9 + int((frac or "0").ljust(9, "0")[:9])
        except ValueError as err:
            raise DataFormatError(f"{path}: line {i + 1} is not a timestamp: {line!r}") from err
    return stamps


@dataclass(frozen=True)
class KittiFrame:
    """One synchronised frame.

    Attributes:
        index: Frame number (file stem).
        image: (H, W, 3) uint8 RGB of camera 2.
        points: (N, 4) float32 x, y, z (metres, LiDAR frame), reflectance.
        calibration: Calibration of the recording day.
        image_stamp_ns: Camera stamp in ns, or None when the layout has none.
        lidar_stamp_ns: LiDAR stamp in ns, or None.
    """

    index: int
    image: UInt8Array
    points: Float32Array
    calibration: KittiCalibration
    image_stamp_ns: int | None = None
    lidar_stamp_ns: int | None = None


@dataclass(frozen=True)
class KittiSequence:
    """File lists of one drive; frames are read lazily by :meth:`frame` or iteration."""

    root: Path
    calibration: KittiCalibration
    image_paths: tuple[Path, ...]
    lidar_paths: tuple[Path, ...]
    image_stamps_ns: IntArray | None = None
    lidar_stamps_ns: IntArray | None = None

    def __len__(self) -> int:
        return len(self.image_paths)

    def __iter__(self) -> Iterator[KittiFrame]:
        return (self.frame(i) for i in range(len(self)))

    def frame(self, i: int) -> KittiFrame:
        """Read frame ``i`` (position in the sorted file list, not the file number)."""
        index = int(self.image_paths[i].stem)
        return KittiFrame(index, read_rgb(self.image_paths[i]),
                          read_velodyne_bin(self.lidar_paths[i]), self.calibration,
                          _stamp(self.image_stamps_ns, index, self.root),
                          _stamp(self.lidar_stamps_ns, index, self.root))


def _stamp(stamps: IntArray | None, index: int, root: Path) -> int | None:
    if stamps is None:
        return None
    if index >= len(stamps):
        raise DataFormatError(f"{root}: no timestamp for frame {index} ({len(stamps)} lines)")
    return int(stamps[index])


def open_sequence(root: str | Path, *, drive: str | None = None, cam: int = 2) -> KittiSequence:
    """Open a KITTI drive in either layout (see the module docstring).

    Raises:
        DataFormatError: No recognisable layout, or images and scans that do not pair up.
        CalibrationError: Malformed calibration.
    """
    root = Path(root)
    if (root / "calib.txt").is_file():
        calib, drive_dir = read_object_calib(root / "calib.txt"), root
    else:
        drive_dir = _find_drive(root, drive)
        calib = read_raw_calib(drive_dir.parent)
    images = tuple(sorted((drive_dir / f"image_0{cam}" / "data").glob("*.png")))
    scans = tuple(sorted((drive_dir / "velodyne_points" / "data").glob("*.bin")))
    if not images or [p.stem for p in images] != [p.stem for p in scans]:
        raise DataFormatError(f"{drive_dir}: image_0{cam}/data ({len(images)} png) and "
                              f"velodyne_points/data ({len(scans)} bin) do not pair by name")
    return KittiSequence(drive_dir, calib, images, scans,
                         _maybe_stamps(drive_dir / f"image_0{cam}" / "timestamps.txt"),
                         _maybe_stamps(drive_dir / "velodyne_points" / "timestamps.txt"))


def _maybe_stamps(path: Path) -> IntArray | None:
    return read_timestamps(path) if path.is_file() else None


def _find_drive(root: Path, drive: str | None) -> Path:
    """The ``*_sync`` drive folder at, under, or two levels under ``root``."""
    if (root / "velodyne_points").is_dir() and (root.parent / "calib_cam_to_cam.txt").is_file():
        return root
    candidates = sorted(p.parent for p in root.glob("*_sync/velodyne_points"))
    candidates += sorted(p.parent for p in root.glob("*/*_sync/velodyne_points"))
    if drive is not None:
        candidates = [p for p in candidates if drive in p.name]
    if len(candidates) != 1:
        names = [p.name for p in candidates]
        raise DataFormatError(f"{root}: expected calib.txt or exactly one KITTI raw drive folder "
                              f"(drive={drive!r}), found {names}")
    return candidates[0]
