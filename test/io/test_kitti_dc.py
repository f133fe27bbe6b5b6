"""KITTI depth-completion layouts written into tmp_path and read back."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_completion_ros.errors import CalibrationError, DataFormatError
from depth_completion_ros.io.depth_png import write_depth_png
from depth_completion_ros.io.kitti_dc import (
    list_depth_annotated,
    list_depth_selection,
    read_intrinsics_txt,
)

DRIVE = "2011_09_26_drive_0002_sync"


def depth_image(value: float) -> np.ndarray:
    d = np.zeros((4, 6), np.float32)
    d[1, 2] = value
    return d


def make_selection(root: Path, with_gt: bool = True) -> None:
    for frame in ("0000000005", "0000000006"):
        stem = f"{DRIVE}_{{}}_{frame}_image_02"
        write_depth_png(root / "velodyne_raw" / (stem.format("velodyne_raw") + ".png"),
                        depth_image(int(frame)))
        if with_gt:
            write_depth_png(root / "groundtruth_depth" /
                            (stem.format("groundtruth_depth") + ".png"),
                            depth_image(10 + int(frame)))
        (root / "image").mkdir(exist_ok=True)
        cv2.imwrite(str(root / "image" / (stem.format("image") + ".png")),
                    np.full((4, 6, 3), (255, 0, 0), np.uint8))  # BGR blue
        (root / "intrinsics").mkdir(exist_ok=True)
        (root / "intrinsics" / (stem.format("image") + ".txt")).write_text(
            "721.5 0 596.5 0 721.5 149.8 0 0 1\n")


def test_val_selection_cropped(tmp_path: Path) -> None:
    make_selection(tmp_path)
    samples = list_depth_selection(tmp_path)
    assert [s.name for s in samples] == [f"{DRIVE}_image_0000000005_image_02",
                                         f"{DRIVE}_image_0000000006_image_02"]
    frame = samples[1].load()
    assert frame.sparse[1, 2] == 6.0 and frame.groundtruth[1, 2] == 16.0
    assert np.count_nonzero(frame.sparse) == 1
    assert frame.rgb[0, 0].tolist() == [0, 0, 255]  # RGB order
    np.testing.assert_array_equal(frame.K, [[721.5, 0, 596.5], [0, 721.5, 149.8], [0, 0, 1]])


def test_selection_without_groundtruth(tmp_path: Path) -> None:
    make_selection(tmp_path, with_gt=False)
    frame = list_depth_selection(tmp_path)[0].load()
    assert frame.groundtruth is None and frame.sparse[1, 2] == 5.0


def test_depth_annotated_with_raw_images(tmp_path: Path) -> None:
    for split, kind, frames in (("train", "velodyne_raw", (0, 5, 6)),
                                ("train", "groundtruth", (5, 6))):
        root = tmp_path / ("data_depth_velodyne" if kind == "velodyne_raw"
                           else "data_depth_annotated")
        for f in frames:
            write_depth_png(root / split / DRIVE / "proj_depth" / kind / "image_02" /
                            f"{f:010d}.png",
                            depth_image(f + (20 if kind == "groundtruth" else 1)))
    raw = tmp_path / "raw" / "2011_09_26" / DRIVE / "image_02" / "data"
    raw.mkdir(parents=True)
    cv2.imwrite(str(raw / "0000000005.png"), np.zeros((4, 6, 3), np.uint8))
    samples = list_depth_annotated(tmp_path / "data_depth_velodyne",
                                   tmp_path / "data_depth_annotated", raw_root=tmp_path / "raw")
    assert [s.name for s in samples] == [f"{DRIVE}_0000000005_image_02",
                                         f"{DRIVE}_0000000006_image_02"]
    assert samples[0].image_path is not None and samples[1].image_path is None
    frame = samples[0].load()
    assert frame.sparse[1, 2] == 6.0 and frame.groundtruth[1, 2] == 25.0 and frame.K is None
    all_frames = list_depth_annotated(tmp_path / "data_depth_velodyne",
                                      tmp_path / "data_depth_annotated", require_groundtruth=False)
    assert len(all_frames) == 3 and all_frames[0].groundtruth_path is None


@pytest.mark.parametrize("text, needle", [
    ("1 2 3", "9 finite numbers, got 3"),
    ("0 0 0 0 0 0 0 0 1", "zero focal length"),
    ("a b c d e f g h i", "cannot read intrinsics"),
])
def test_bad_intrinsics(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "k.txt"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=needle) as info:
        read_intrinsics_txt(path)
    assert str(path) in str(info.value)


def test_empty_layouts_raise(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="velodyne_raw"):
        list_depth_selection(tmp_path)
    with pytest.raises(DataFormatError, match="velodyne_raw"):
        list_depth_annotated(tmp_path)
