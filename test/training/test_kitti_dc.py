"""The supervised KITTI depth-completion source: input and groundtruth PNGs with the raw RGB,
K from the raw day's calibration, cut to the KITTI crop (a tiny layout built from drive 0009)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from depth_completion_ros.geometry.crop import KITTI_CROP, cut
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.depth_png import read_depth_png, write_depth_png
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.training.data import TrainingSet, collate, draw_batch
from depth_completion_ros.training.sections import DataSection, SourceConfig

DRIVE = "2011_09_26_drive_0009_sync"


def test_supervised_samples_from_the_dc_layout(drive0009_dir: Path, tmp_path: Path):
    sequence = open_sequence(drive0009_dir)
    frame = sequence.frame(5)
    height, width = frame.image.shape[:2]
    camera = frame.calibration.camera(2, width, height)
    depth = project_to_depth(frame.points, frame.calibration.lidar_to_camera(), camera)
    day = tmp_path / "raw" / "2011_09_26"
    (day / DRIVE / "image_02" / "data").mkdir(parents=True)
    for calib in (drive0009_dir / "2011_09_26").glob("calib_*.txt"):
        shutil.copy(calib, day / calib.name)
    shutil.copy(sequence.image_paths[5], day / DRIVE / "image_02" / "data" / "0000000005.png")
    proj = tmp_path / "dc" / "train" / DRIVE / "proj_depth"
    sparse = np.where(np.arange(height)[:, None] % 2 == 0, depth, 0).astype(np.float32)
    write_depth_png(proj / "velodyne_raw" / "image_02" / "0000000005.png", sparse)
    write_depth_png(proj / "groundtruth" / "image_02" / "0000000005.png", depth)
    write_depth_png(proj / "velodyne_raw" / "image_02" / "0000000000.png", sparse)  # no gt

    source = SourceConfig("kitti_dc", str(tmp_path / "dc"), raw=str(tmp_path / "raw"))
    dataset = TrainingSet([source])
    assert dataset.names == [f"{DRIVE}_0000000005_image_02"]
    sample = dataset.sample(0, lines=4)  # lines do not apply: the layout's own input
    box = KITTI_CROP.box(height, width)
    assert sample.lines == 0 and sample.sparse.shape == (352, 1216)
    stored = read_depth_png(proj / "velodyne_raw" / "image_02" / "0000000005.png")
    assert np.array_equal(sample.sparse, cut(stored, box))
    assert np.array_equal(sample.target, cut(read_depth_png(
        proj / "groundtruth" / "image_02" / "0000000005.png"), box))
    assert np.allclose(sample.K[:2, 2], camera.intrinsics()[:2, 2] - box[:2])
    assert np.array_equal(sample.rgb, cut(frame.image, box))
    batch = collate(draw_batch(dataset, DataSection(patch_height=64, patch_width=128), 2,
                               np.random.default_rng(0)))
    assert tuple(batch.target.shape) == (2, 1, 64, 128)
