"""DepthPipeline: modes, output convention (NaN / confidence 0), checks, and the real sample."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from depth_completion_ros.errors import InputError, ModelError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.models.base import CompletionOutput, ModelInput, ModelSpec
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.settings import PipelineSettings

CAM = PinholeCamera(4, 4, np.array([[2.0, 0, 2], [0, 2, 2], [0, 0, 1]]))
RGB = np.zeros((4, 4, 3), np.uint8)

NEAR_HALF_METRE = PipelineSettings(min_depth=0.5, max_depth=80.0)


class EchoModel:
    """Completion model that returns the sparse input as depth (NaN where 0), confidence 0.5."""

    spec = ModelSpec("echo", required=(ModelInput.SPARSE_DEPTH,), optional=(ModelInput.RGB,))
    name = spec.name

    def __init__(self) -> None:
        self.calls: list[np.ndarray | None] = []

    def predict(self, rgb, sparse_depth, K):
        self.calls.append(sparse_depth)
        depth = np.where(sparse_depth > 0, sparse_depth, np.nan).astype(np.float32)
        return CompletionOutput(depth, np.full(depth.shape, 0.5, np.float32), {"model": 1.0})


class ConstantMono:
    """RGB-only model answering a constant depth (metres) with confidence 2 (to be clipped)."""

    def __init__(self, value: float, name: str = "mono") -> None:
        self.value, self.name = value, name
        self.spec = ModelSpec(name, required=(ModelInput.RGB,),
                              optional=(ModelInput.SPARSE_DEPTH,))
        self.sparse_seen: list[np.ndarray | None] = []

    def predict(self, rgb, sparse_depth, K):
        self.sparse_seen.append(sparse_depth)
        shape = rgb.shape[:2]
        return CompletionOutput(np.full(shape, self.value, np.float32),
                                np.full(shape, 2.0, np.float32))


def test_completion_hand_computed_case():
    # (0, 0, 5) and (0, 0, 3) both hit pixel (2, 2): the nearer wins; (2, 0, 4) hits u = 3.
    pts = np.array([[0, 0, 5], [0, 0, 3], [2, 0, 4]], np.float32)
    result = DepthPipeline(EchoModel(), np.eye(4), NEAR_HALF_METRE).process(
        RGB, CAM, pts)
    assert (result.mode, result.model_name, result.points_in_view) == ("completion", "echo", 2)
    assert result.density == pytest.approx(2 / 16)
    assert result.sparse_depth[2, 2] == 3.0 and result.depth[2, 2] == 3.0
    assert result.depth[2, 3] == 4.0
    assert np.isnan(result.depth[0, 0]) and result.confidence[0, 0] == 0.0
    assert result.confidence[2, 2] == 0.5
    assert {"project", "model", "total"} <= set(result.timings_ms)


def test_depth_range_applies_to_input_points_and_to_outputs():
    pts = np.array([[0, 0, 200.0], [0, 0, 0.2]], np.float32)
    result = DepthPipeline(EchoModel(), np.eye(4), NEAR_HALF_METRE).process(
        RGB, CAM, pts)
    assert result.points_in_view == 0
    far = DepthPipeline(ConstantMono(90.0), np.eye(4), PipelineSettings(max_depth=80.0)).process(
        RGB, CAM, None)
    assert np.isnan(far.depth).all() and not far.confidence.any()


def test_prediction_uses_rgb_only_active_model_without_sparse():
    mono = ConstantMono(7.0)
    result = DepthPipeline(mono, np.eye(4)).process(RGB, CAM, None)
    assert (result.mode, result.model_name) == ("prediction", "mono")
    assert mono.sparse_seen == [None]
    np.testing.assert_array_equal(result.depth, 7.0)
    np.testing.assert_array_equal(result.confidence, 1.0)  # clipped from 2
    assert result.points_in_view == 0 and not result.sparse_depth.any()


def test_prediction_falls_back_to_dropout_model_or_raises():
    with pytest.raises(ModelError, match="needs LiDAR"):
        DepthPipeline(EchoModel(), np.eye(4)).process(RGB, CAM, None)
    result = DepthPipeline(EchoModel(), np.eye(4), dropout_model=ConstantMono(9.0, "san")
                           ).process(RGB, CAM, None)
    assert (result.mode, result.model_name) == ("prediction", "san")
    with pytest.raises(InputError, match="'echo' cannot run without LiDAR"):
        DepthPipeline(EchoModel(), np.eye(4), dropout_model=EchoModel())


class LidarOnly:
    """LiDAR-only completion stand-in (no camera image at inference): echoes the sparse depth."""

    spec = ModelSpec("depth_only", required=(ModelInput.SPARSE_DEPTH,))
    name = spec.name

    def __init__(self) -> None:
        self.rgb_seen: list[np.ndarray | None] = []

    def predict(self, rgb, sparse_depth, K):
        self.rgb_seen.append(rgb)
        depth = np.where(sparse_depth > 0, sparse_depth, np.nan).astype(np.float32)
        return CompletionOutput(depth, np.ones_like(depth))


def test_lidar_only_model_runs_without_an_image():
    model = LidarOnly()
    result = DepthPipeline(model, np.eye(4)).process(None, CAM, np.array([[0, 0, 3]], np.float32))
    assert model.rgb_seen == [None]
    assert (result.mode, result.model_name, result.depth.shape) == ("completion", "depth_only",
                                                                    (4, 4))
    assert result.depth[2, 2] == 3.0 and np.isnan(result.depth[0, 0])


def test_frames_without_an_image_or_lidar_are_refused_by_what_the_model_requires():
    with pytest.raises(ModelError, match="'mono' needs an RGB image"):
        DepthPipeline(ConstantMono(1.0), np.eye(4)).process(None, CAM, None)
    with pytest.raises(ModelError, match="'depth_only' needs LiDAR"):
        DepthPipeline(LidarOnly(), np.eye(4)).process(None, CAM, None)


@pytest.mark.parametrize("rgb, match", [
    (np.zeros((4, 5, 3), np.uint8), r"expected 4x4 \(camera_info\), got 5x4"),
    (np.zeros((4, 4, 3), np.float32), "uint8"),
    (np.zeros((4, 4), np.uint8), "uint8"),
])
def test_bad_images_raise_input_error(rgb, match):
    with pytest.raises(InputError, match=match):
        DepthPipeline(EchoModel(), np.eye(4)).process(rgb, CAM, None)


def test_bad_construction_and_points():
    with pytest.raises(InputError, match="lidar_to_camera"):
        DepthPipeline(EchoModel(), np.zeros((4, 4)))
    with pytest.raises(InputError, match="min_depth"):
        DepthPipeline(EchoModel(), np.eye(4), PipelineSettings(min_depth=5, max_depth=1))
    with pytest.raises(InputError, match="points"):
        DepthPipeline(EchoModel(), np.eye(4)).process(RGB, CAM, np.zeros((3, 2), np.float32))


def test_model_output_of_wrong_shape_is_a_model_error():
    class Bad(ConstantMono):
        def predict(self, rgb, sparse_depth, K):
            return CompletionOutput(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32))
    with pytest.raises(ModelError, match="expected \\(4, 4\\)"):
        DepthPipeline(Bad(1.0), np.eye(4)).process(RGB, CAM, None)


def test_real_sample_completion_keeps_lidar_depths(sample_dir):
    from depth_completion_ros.io.kitti_calib import read_object_calib
    calib = read_object_calib(sample_dir / "calib.txt")
    bgr = cv2.imread(str(sample_dir / "image_02/data/0000000000.png"))
    scan = np.fromfile(sample_dir / "velodyne_points/data/0000000000.bin", np.float32)
    camera = calib.camera(2, bgr.shape[1], bgr.shape[0])
    pipeline = DepthPipeline(EchoModel(), calib.lidar_to_camera(), PipelineSettings(max_depth=80.0))
    result = pipeline.process(
        bgr[:, :, ::-1].copy(), camera, scan.reshape(-1, 4))
    hit = result.sparse_depth > 0
    assert 14_000 < result.points_in_view < 20_000  # ~20k points, fewer pixels (z-buffer)
    np.testing.assert_array_equal(result.depth[hit], result.sparse_depth[hit])
    assert np.isnan(result.depth[:60]).all()  # the top rows lie above the HDL-64E field of view
    assert result.depth.shape == (375, 1242)


def test_the_registered_depth_only_model_completes_a_real_frame_without_an_image(
        sample_dir, tmp_path, learned_checkpoint):
    """A checkpoint of the small depth-only network (random weights): no image in, the same
    depth as with the frame's image (which the model never sees)."""
    from depth_completion_ros.io.kitti_calib import read_object_calib
    from depth_completion_ros.models import get_model
    calib = read_object_calib(sample_dir / "calib.txt")
    bgr = cv2.imread(str(sample_dir / "image_02/data/0000000000.png"))
    scan = np.fromfile(sample_dir / "velodyne_points/data/0000000000.bin", np.float32)
    camera = calib.camera(2, bgr.shape[1], bgr.shape[0])
    path = learned_checkpoint("depth_only", tmp_path / "depth_only.pt", {"width": 8})
    model = get_model("depth_only", {"width": 8}, checkpoint=path, device="cpu")
    pipeline = DepthPipeline(model, calib.lidar_to_camera(), PipelineSettings(max_depth=80.0))
    blind = pipeline.process(None, camera, scan.reshape(-1, 4))
    assert (blind.mode, blind.model_name) == ("completion", "depth_only")
    assert blind.depth.shape == (375, 1242) and blind.points_in_view > 14_000
    assert np.isnan(blind.depth[:, :13]).all()   # outside the network's 1216x352 crop
    assert np.isfinite(blind.depth).any()   # random weights: mostly outside the depth range
    seen = pipeline.process(bgr[:, :, ::-1].copy(), camera, scan.reshape(-1, 4))
    np.testing.assert_array_equal(seen.depth, blind.depth)
