"""KITTI raw frames: both layouts, timestamps, malformed scans and images."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.io.kitti_raw import (
    open_sequence,
    read_rgb,
    read_timestamps,
    read_velodyne_bin,
)


def test_flat_layout_frames(sample_dir: Path) -> None:
    frames = list(open_sequence(sample_dir))
    assert [f.index for f in frames] == [0, 1, 2, 3]
    f = frames[0]
    assert f.image.shape == (375, 1242, 3) and f.image.dtype == np.uint8
    assert f.points.dtype == np.float32 and f.points.shape[1] == 4 and 100_000 < len(f.points)
    assert f.image_stamp_ns is None and f.lidar_stamp_ns is None
    assert (sample_dir / "velodyne_points/data/0000000000.bin").stat().st_size == f.points.nbytes


def test_official_layout_with_timestamps(drive0009_dir: Path) -> None:
    seq = open_sequence(drive0009_dir)
    assert len(seq) == 51 and seq.root.name == "2011_09_26_drive_0009_sync"
    f = seq.frame(1)
    assert f.index == 1 and f.image.shape == (375, 1242, 3)
    gap = seq.image_stamps_ns[1:51] - seq.image_stamps_ns[:50]
    assert np.all((gap > 90e6) & (gap < 115e6))  # 10 Hz
    assert f.image_stamp_ns == seq.image_stamps_ns[1]
    assert open_sequence(drive0009_dir / "2011_09_26").root == seq.root


def make_official(tmp_path: Path, sample_dir: Path) -> Path:
    day = tmp_path / "2011_09_26"
    drive = day / "2011_09_26_drive_0001_sync"
    for sub, ext in (("image_02", "png"), ("velodyne_points", "bin")):
        (drive / sub / "data").mkdir(parents=True)
        src = sorted((sample_dir / sub / "data").glob(f"*.{ext}"))[:2]
        for path in src:
            shutil.copy(path, drive / sub / "data" / path.name)
        (drive / sub / "timestamps.txt").write_text(
            "2011-09-26 13:02:25.594360375\n2011-09-26 13:02:25.6\n")
    (day / "calib_cam_to_cam.txt").write_text(
        "S_rect_02: 1.242e+03 3.75e+02\nR_rect_00: 1 0 0 0 1 0 0 0 1\n"
        "P_rect_02: 700 0 600 45 0 700 170 0.2 0 0 1 0.003\n")
    (day / "calib_velo_to_cam.txt").write_text("R: 1 0 0 0 1 0 0 0 1\nT: 0 0 0\n")
    return tmp_path


def test_official_layout_written_to_tmp(tmp_path: Path, sample_dir: Path) -> None:
    frames = list(open_sequence(make_official(tmp_path, sample_dir)))
    assert len(frames) == 2
    assert frames[0].image_stamp_ns == 1317042145_594360375
    assert frames[1].lidar_stamp_ns == 1317042145_600000000
    assert frames[0].calibration.camera(2).width == 1242


def test_ambiguous_or_missing_layout(tmp_path: Path, sample_dir: Path) -> None:
    with pytest.raises(DataFormatError, match="exactly one KITTI raw drive"):
        open_sequence(tmp_path)
    root = make_official(tmp_path, sample_dir)
    shutil.copytree(root / "2011_09_26/2011_09_26_drive_0001_sync",
                    root / "2011_09_26/2011_09_26_drive_0002_sync")
    with pytest.raises(DataFormatError, match="drive_0001_sync"):
        open_sequence(root)
    assert open_sequence(root, drive="0002").root.name == "2011_09_26_drive_0002_sync"


def test_bin_size_not_multiple_of_16(tmp_path: Path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(np.zeros(9, np.float32).tobytes())
    with pytest.raises(DataFormatError, match="36 bytes is not a multiple of 16") as info:
        read_velodyne_bin(path)
    assert str(path) in str(info.value)


def test_empty_bin_is_an_empty_cloud(tmp_path: Path) -> None:
    (tmp_path / "e.bin").write_bytes(b"")
    assert read_velodyne_bin(tmp_path / "e.bin").shape == (0, 4)


@pytest.mark.parametrize("call, needle", [
    (lambda p: read_velodyne_bin(p / "missing.bin"), "cannot read Velodyne"),
    (lambda p: read_rgb(p / "missing.png"), "cannot read image"),
    (lambda p: read_timestamps(p / "missing.txt"), "cannot read timestamps"),
])
def test_missing_files(tmp_path: Path, call, needle: str) -> None:
    with pytest.raises(DataFormatError, match=needle):
        call(tmp_path)


def test_bad_timestamp_line(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("2011-09-26 13:02:25.5\nyesterday\n")
    with pytest.raises(DataFormatError, match="line 2"):
        read_timestamps(tmp_path / "t.txt")
