"""Training samples split beams exactly as the evaluation does; unusable scans are skipped."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.engine.preprocess import Preprocessor
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.evaluation.heldout import prepare_frame, split_frame
from depth_completion_ros.geometry.crop import KITTI_CROP, cut
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models.cspn import INPUT_SPEC
from depth_completion_ros.paths import SAMPLE_DIR
from depth_completion_ros.training.data import (
    TrainingSet,
    collate,
    draw_batch,
    heldout_sample,
    network_batch,
)
from depth_completion_ros.training.sections import DataSection, SourceConfig
from depth_completion_ros.training.sources import ScanFrame, list_frames


@pytest.fixture(scope="module")
def scan() -> ScanFrame:
    frame = list_frames(SourceConfig("kitti_raw", str(SAMPLE_DIR), max_frames=1))[0][1]()
    assert isinstance(frame, ScanFrame)
    return frame


@pytest.mark.parametrize("variant", ["32", "16"])
def test_split_equals_the_evaluations(scan: ScanFrame, variant: str):
    sample = heldout_sample(scan, int(variant))
    expected = prepare_frame(scan.points, scan.lidar_to_camera, scan.camera, variant)
    assert np.array_equal(sample.sparse, cut(expected.sparse, expected.crop))
    assert np.array_equal(sample.target, expected.groundtruth)
    assert (sample.target > 0).sum() > 1000 and (sample.sparse > 0).sum() > 1000
    x0, y0 = expected.crop[:2]
    assert np.allclose(sample.K[:2, 2], scan.camera.intrinsics()[:2, 2] - [x0, y0])
    assert np.array_equal(sample.rgb, cut(scan.rgb, expected.crop))


@pytest.mark.parametrize("lines", [8, 4])
def test_split_at_sparser_lines_is_split_frame(scan: ScanFrame, lines: int):
    sample = heldout_sample(scan, lines)
    rings = estimate_rings(scan.points, cut="pi")
    expected = split_frame(scan.points, rings, scan.lidar_to_camera, scan.camera, lines)
    assert np.array_equal(sample.target, expected.groundtruth)
    assert np.array_equal(sample.sparse, cut(expected.sparse, expected.crop))


def _object_layout(root: Path, sequence_frame, name: str, points: np.ndarray) -> None:
    for folder in ("image_2", "velodyne", "calib"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    shutil.copy(sequence_frame, root / "image_2" / f"{name}.png")
    shutil.copy(SAMPLE_DIR / "calib.txt", root / "calib" / f"{name}.txt")
    points.astype(np.float32).tofile(root / "velodyne" / f"{name}.bin")


def test_object_layout_skips_scans_without_full_turns(tmp_path: Path, scan: ScanFrame,
                                                      caplog: pytest.LogCaptureFixture):
    image = open_sequence(SAMPLE_DIR).image_paths[0]
    ahead = scan.points[(scan.points[:, 0] > 0) & (np.abs(scan.points[:, 1]) < scan.points[:, 0])]
    _object_layout(tmp_path, image, "full", scan.points)
    _object_layout(tmp_path, image, "cropped", ahead)  # field of view only: no full turn
    dataset = TrainingSet([SourceConfig("kitti_object", str(tmp_path))])
    assert dataset.names == [f"{tmp_path.name}/full"]
    assert [name for name, _ in dataset.skipped] == [f"{tmp_path.name}/cropped"]
    assert "1 ring(s)" in caplog.text and "cropped" in caplog.text
    sample = dataset.sample(0, 32)
    assert np.array_equal(sample.target, heldout_sample(scan, 32).target)



def test_scans_without_rings_can_serve_prediction_samples(tmp_path: Path, scan: ScanFrame):
    image = open_sequence(SAMPLE_DIR).image_paths[0]
    ahead = scan.points[(scan.points[:, 0] > 0) & (np.abs(scan.points[:, 1]) < scan.points[:, 0])]
    _object_layout(tmp_path, image, "full", scan.points)
    _object_layout(tmp_path, image, "cropped", ahead)
    dataset = TrainingSet([SourceConfig("kitti_object", str(tmp_path))], prediction_only=True)
    assert dataset.names == [f"{tmp_path.name}/cropped", f"{tmp_path.name}/full"]
    assert dataset.prediction_only == {0} and not dataset.skipped
    assert "0-line samples only" in dataset.describe()
    cropped = dataset.sample(0, 32)            # drawn with 32 lines: still a 0-line sample
    assert cropped.lines == 0 and not (cropped.sparse > 0).any()
    # the crop (+-45 degrees) holds every point in the camera's view (+-41): the same target
    full = dataset.sample(1, 0).target
    assert (full > 0).sum() > 10000 and np.array_equal(cropped.target, full)
    assert dataset.sample(1, 32).lines == 32   # a full scan keeps its line count
    data = DataSection(lines=(0, 32), patch_height=64, patch_width=96,
                       prediction_only_frames=True)
    for sample in draw_batch(dataset, data, 8, np.random.default_rng(1), indices=[0] * 8):
        assert sample.lines == 0 and not (sample.sparse > 0).any()
    with pytest.raises(ConfigError, match="needs 0 in data.lines"):
        DataSection(lines=(32, 16), prediction_only_frames=True)

def test_dense_prediction_targets_keep_the_points_and_fill_between_them(scan: ScanFrame):
    """``prediction_target: classical``: a 0-line sample's target is every ring's point (the
    same depth) plus classical's completion between them; line samples are unchanged."""
    dataset = TrainingSet([SourceConfig("kitti_raw", str(SAMPLE_DIR), max_frames=1)])
    plain = DataSection(lines=(0, 16), patch_height=0, patch_width=0, colour_jitter=0.0,
                        flip_probability=0.0)
    dense = DataSection(lines=(0, 16), patch_height=0, patch_width=0, colour_jitter=0.0,
                        flip_probability=0.0, prediction_target="classical")
    seen = set()
    for seed in range(6):   # lines drawn 0 or 16; the same draw for both sections
        a = draw_batch(dataset, plain, 1, np.random.default_rng(seed))[0]
        b = draw_batch(dataset, dense, 1, np.random.default_rng(seed))[0]
        lines = a.lines
        seen.add(lines)
        measured = a.target > 0
        assert np.array_equal(b.target[measured], a.target[measured])
        if lines:
            assert np.array_equal(a.target, b.target)
        else:
            assert (b.target > 0).sum() > 8 * measured.sum()   # most of the crop below the top beam
            assert (b.target > 0).all(axis=1)[-100:].all()     # the bottom rows are dense
    assert seen == {0, 16}
    with pytest.raises(ConfigError, match="prediction_target must be one of"):
        DataSection(prediction_target="dense")
    with pytest.raises(ConfigError, match="needs 0 in data.lines"):
        DataSection(lines=(32,), prediction_target="classical")


def test_batch_goes_through_the_inference_preprocessor(scan: ScanFrame):
    dataset = TrainingSet([SourceConfig("kitti_raw", str(SAMPLE_DIR), max_frames=2)])
    data = DataSection(lines=(16,), patch_height=64, patch_width=96, colour_jitter=0.0,
                       flip_probability=0.0)
    batch = collate(draw_batch(dataset, data, 3, np.random.default_rng(0)))
    assert tuple(batch.rgb.shape) == (3, 3, 64, 96) and batch.rgb.dtype == torch.uint8
    pre = Preprocessor(INPUT_SPEC)
    inputs, target = network_batch(pre, batch, torch.device("cpu"))
    expected = pre(batch.rgb, batch.sparse, batch.K)
    for key in ("rgb", "sparse", "K"):
        assert torch.equal(inputs[key], expected[key])
    assert torch.equal(target, batch.target)


def test_the_crop_of_a_sample_is_the_kitti_crop(scan: ScanFrame):
    height, width = scan.rgb.shape[:2]
    assert heldout_sample(scan, 32).sparse.shape == (352, 1216)
    assert KITTI_CROP.box(height, width)[2:] == (1216, 352)


def test_skip_frames_and_max_frames_split_a_folder():
    names = [n for n, _ in list_frames(SourceConfig("kitti_raw", str(SAMPLE_DIR)))]
    first = [n for n, _ in list_frames(SourceConfig("kitti_raw", str(SAMPLE_DIR), max_frames=2))]
    rest = [n for n, _ in list_frames(SourceConfig("kitti_raw", str(SAMPLE_DIR),
                                                   skip_frames=2))]
    assert len(names) == 4 and first == names[:2] and rest == names[2:]
    middle = list_frames(SourceConfig("kitti_raw", str(SAMPLE_DIR), skip_frames=1,
                                      max_frames=2))
    assert [n for n, _ in middle] == names[1:3]
