"""KITTI calibration readers: both layouts agree; malformed files give named errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.errors import CalibrationError
from depth_completion_ros.io.kitti_calib import read_object_calib, read_raw_calib


def test_object_layout_values(sample_dir: Path) -> None:
    calib = read_object_calib(sample_dir / "calib.txt")
    assert sorted(calib.P_rect) == [0, 1, 2, 3]
    assert calib.P_rect[2][0, 3] == pytest.approx(44.85728)
    T = calib.lidar_to_camera()
    assert T.shape == (4, 4) and T[3].tolist() == [0, 0, 0, 1]
    # a point 10 m ahead of the LiDAR is ~10.27 m in front of the camera, near the image centre
    x = calib.projection(2) @ [10.0, 0.0, 0.0, 1.0]
    assert x[2] == pytest.approx(10.0 - 0.27, abs=0.02)
    assert 560 < x[0] / x[2] < 660 and 150 < x[1] / x[2] < 200


def test_object_camera_is_rectified(sample_dir: Path) -> None:
    cam = read_object_calib(sample_dir / "calib.txt").camera(2, 1242, 375)
    np.testing.assert_array_equal(cam.K, cam.P[:, :3])
    with pytest.raises(CalibrationError, match="image size"):
        read_object_calib(sample_dir / "calib.txt").camera(2)


def test_both_layouts_give_the_same_projection(seq16_dir: Path, drive0009_dir: Path) -> None:
    obj = read_object_calib(seq16_dir / "calib.txt").projection(2)
    raw_calib = read_raw_calib(drive0009_dir / "2011_09_26")
    raw = raw_calib.projection(2)
    np.testing.assert_allclose(raw, obj, rtol=1e-6, atol=1e-6 * np.abs(obj).max())
    cam = raw_calib.camera(2)
    assert (cam.width, cam.height) == (1242, 375)
    assert raw_calib.K[2][0, 0] == pytest.approx(959.791)


CALIB = {
    "P0": "1 0 1 0 0 1 1 0 0 0 1 0", "P2": "700 0 600 45 0 700 170 0.2 0 0 1 0.003",
    "R0_rect": "1 0 0 0 1 0 0 0 1", "Tr_velo_to_cam": "0 -1 0 0 0 0 -1 0 1 0 0 -0.27",
}


@pytest.mark.parametrize("edit, needle", [
    ({"P2": None}, "missing key 'P2'"),
    ({"R0_rect": None}, "missing key 'R0_rect'"),
    ({"Tr_velo_to_cam": "1 2 3"}, "'Tr_velo_to_cam' needs 12 numbers, got 3"),
    ({"R0_rect": "1 0 0 0 1 0 0 0 x"}, "'R0_rect' holds a non-number"),
    ({"P2": "700 0 600 45 0 700 170 0.2 0 0 1 nan"}, "'P2' holds a non-finite"),
])
def test_malformed_object_calib(tmp_path: Path, edit: dict, needle: str) -> None:
    entries = {k: v for k, v in (CALIB | edit).items() if v is not None}
    path = tmp_path / "calib.txt"
    path.write_text("".join(f"{k}: {v}\n" for k, v in entries.items()))
    with pytest.raises(CalibrationError, match=needle) as info:
        read_object_calib(path)
    assert str(path) in str(info.value)


def test_missing_calib_file(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="cannot read"):
        read_object_calib(tmp_path / "nope.txt")


def test_malformed_raw_calib(tmp_path: Path) -> None:
    (tmp_path / "calib_cam_to_cam.txt").write_text(
        "P_rect_02: 700 0 600 45 0 700 170 0.2 0 0 1 0.003\nR_rect_00: 1 0 0 0 1 0 0 0 1\n")
    (tmp_path / "calib_velo_to_cam.txt").write_text("R: 1 0 0 0 1 0 0 0 1\nT: 0 0\n")
    with pytest.raises(CalibrationError, match="calib_velo_to_cam.txt: key 'T' needs 3"):
        read_raw_calib(tmp_path)
