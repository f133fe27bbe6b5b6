"""Fixtures of the CLI tests: a small KITTI val_selection_cropped-style folder."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import pytest

from depth_completion_ros.evaluation.heldout import iter_drive
from depth_completion_ros.io.depth_png import write_depth_png


@pytest.fixture
def make_folder(sample_dir: Path) -> Callable[[Path], list[str]]:
    """``make(root)`` writes two sample frames (full 1242x375) in the val_selection_cropped
    layout (image/, velodyne_raw/ 32 lines in, intrinsics/) and returns the velodyne_raw names."""
    def make(root: Path) -> list[str]:
        names = []
        for i, (rgb, K, frame) in zip(range(2), iter_drive(sample_dir, "32")):
            stem = f"2011_09_26_drive_0001_sync_{{}}_000000000{i}_image_02"
            for sub in ("image", "velodyne_raw", "intrinsics"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "image" / (stem.format("image") + ".png")), rgb[:, :, ::-1])
            write_depth_png(root / "velodyne_raw" / (stem.format("velodyne_raw") + ".png"),
                            frame.sparse)
            (root / "intrinsics" / (stem.format("image") + ".txt")).write_text(
                " ".join(f"{v:.6f}" for v in K.ravel()))
            names.append(stem.format("velodyne_raw") + ".png")
        return names
    return make
