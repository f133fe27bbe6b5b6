"""The issue's bad-input list, one row each: a domain error naming the file and the field."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_completion_ros.errors import CalibrationError, DataFormatError
from depth_completion_ros.io.depth_png import read_depth_png
from depth_completion_ros.io.kitti_calib import read_object_calib
from depth_completion_ros.io.kitti_dc import read_intrinsics_txt
from depth_completion_ros.io.kitti_raw import read_velodyne_bin

GOOD = {"P2": "700 0 600 45 0 700 170 0.2 0 0 1 0.003", "R0_rect": "1 0 0 0 1 0 0 0 1",
        "Tr_velo_to_cam": "0 -1 0 0 0 0 -1 0 1 0 0 -0.27"}


def calib_file(path: Path, **edits: str | None) -> Path:
    entries = {k: v for k, v in (GOOD | edits).items() if v is not None}
    path.write_text("".join(f"{k}: {v}\n" for k, v in entries.items()))
    return path


def write(path: Path, image: np.ndarray) -> Path:
    cv2.imwrite(str(path), image)
    return path


CASES: list[tuple[str, Callable[[Path], Path], Callable[[Path], object], type, str]] = [
    ("calib missing key", lambda d: calib_file(d / "calib.txt", Tr_velo_to_cam=None),
     read_object_calib, CalibrationError, "Tr_velo_to_cam"),
    ("calib wrong count", lambda d: calib_file(d / "calib.txt", P2="1 2 3 4"),
     read_object_calib, CalibrationError, "'P2' needs 12 numbers, got 4"),
    ("calib K with zeros", lambda d: calib_file(d / "calib.txt", P2=" ".join(["0"] * 12)),
     lambda p: read_object_calib(p).camera(2, 1242, 375), CalibrationError, "field K"),
    ("intrinsics K with zeros", lambda d: (d / "k.txt").write_text("0 " * 9) and d / "k.txt",
     read_intrinsics_txt, CalibrationError, "zero focal length"),
    ("bin not a multiple of 16", lambda d: (d / "x.bin").write_bytes(b"\0" * 20) and d / "x.bin",
     read_velodyne_bin, DataFormatError, "not a multiple of 16"),
    ("depth PNG 8-bit", lambda d: write(d / "d.png", np.zeros((3, 3), np.uint8)),
     read_depth_png, DataFormatError, "16-bit"),
    ("depth PNG 3-channel", lambda d: write(d / "d.png", np.zeros((3, 3, 3), np.uint16)),
     read_depth_png, DataFormatError, "1-channel"),
]


@pytest.mark.parametrize("name, make, read, error, field", CASES, ids=[c[0] for c in CASES])
def test_bad_file_gives_named_domain_error(tmp_path: Path, name: str, make: Callable,
                                           read: Callable, error: type, field: str) -> None:
    path = make(tmp_path)
    with pytest.raises(error) as info:
        read(path)
    message = str(info.value)
    assert str(path) in message and field in message, message
