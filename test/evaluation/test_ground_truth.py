"""KITTI ground-truth lookup and scoring against it on the sample bag."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.cli.main import main
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.evaluation.ground_truth import KittiGroundTruth, bag_frame_numbers
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.depth_png import write_depth_png
from depth_completion_ros.io.kitti_raw import open_sequence


@pytest.fixture(scope="module")
def gt_dir(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    """Ground truth = the full LiDAR projection, for frames 0, 1 and 3 (frame 2 missing)."""
    root = tmp_path_factory.mktemp("gt") / "drive"
    folder = root / "proj_depth" / "groundtruth" / "image_02"
    for frame in open_sequence(sample_dir):
        if frame.index != 2:
            camera = frame.calibration.camera(2, 1242, 375)
            depth = project_to_depth(frame.points, frame.calibration.lidar_to_camera(), camera)
            write_depth_png(folder / f"{frame.index:010d}.png", depth)
    return root


def test_lookup_by_converted_frame_numbers(gt_dir: Path, sample_bag: Path) -> None:
    assert bag_frame_numbers(sample_bag) == [0, 1, 2, 3]
    gt = KittiGroundTruth.open(gt_dir, sample_bag)
    assert gt.depth(0, 0).shape == (375, 1242) and gt.depth(2, 0) is None
    with pytest.raises(DataFormatError, match="groundtruth"):
        KittiGroundTruth.open(gt_dir / "proj_depth", sample_bag)


def test_full_lidar_input_scores_almost_zero_against_itself(gt_dir: Path, sample_bag: Path,
                                                            tmp_path: Path) -> None:
    """With all 64 lines in and the same projection as ground truth, `nearest` returns the
    measurements: errors only from LiDAR points beyond the pipeline's max depth."""
    assert main(["evaluate", str(sample_bag), "--model", "nearest", "--gt", str(gt_dir),
                 "--lines", "64", "--report", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "metrics.json").read_text())
    entry = document["by_lines"][0]
    assert entry["frames_scored"] == 3 and entry["frames_skipped"] == {"no ground truth": 1}
    assert document["mae"] < 5.0 and np.isfinite(document["irmse"])
