"""One frame of the embedded sample as models see it, and the output convention models keep."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models.base import CompletionOutput, DepthModel, ModelInput


@dataclass(frozen=True)
class SampleFrame:
    """Frame 0 of the embedded sample, all 64 lines: rgb (H, W, 3) uint8, sparse (H, W) float32
    metres (0 = none), K (3, 3) float64 rectified intrinsics."""

    rgb: np.ndarray
    sparse: np.ndarray
    K: np.ndarray


def load_sample_frame(sample_dir: Path) -> SampleFrame:
    """Frame 0 of the sample projected with its calibration (all points, min depth 0.1 m)."""
    frame = open_sequence(sample_dir).frame(0)
    height, width = frame.image.shape[:2]
    camera = frame.calibration.camera(2, width, height)
    sparse = project_to_depth(frame.points[:, :3], frame.calibration.lidar_to_camera(), camera)
    return SampleFrame(frame.image, np.asarray(sparse, np.float32),
                       camera.intrinsics(rectified=True))


@pytest.fixture(scope="session")
def sample_frame(sample_dir: Path) -> SampleFrame:
    """:func:`load_sample_frame` of the embedded sample."""
    return load_sample_frame(sample_dir)


def run_on_sample(model: DepthModel, frame: SampleFrame) -> CompletionOutput:
    """``model.predict`` with the inputs its spec accepts (the others None)."""
    accepted = model.spec.accepted
    return model.predict(frame.rgb if ModelInput.RGB in accepted else None,
                         frame.sparse if ModelInput.SPARSE_DEPTH in accepted else None, frame.K)


def assert_output_convention(out: CompletionOutput, frame: SampleFrame) -> None:
    """Full size float32; confidence in [0, 1] and 0 exactly where depth is NaN; positive depth;
    finite near the LiDAR's values at >= 95 % of the measured pixels (a network's crop may
    leave the outermost columns out)."""
    shape = frame.sparse.shape
    assert out.depth.shape == shape and out.depth.dtype == np.float32
    assert out.confidence.shape == shape and out.confidence.dtype == np.float32
    assert np.all((out.confidence >= 0) & (out.confidence <= 1))
    missing = np.isnan(out.depth)
    assert not out.confidence[missing].any()
    assert not np.isinf(out.depth).any() and (out.depth[~missing] > 0).all()
    hit = frame.sparse > 0
    estimated = np.isfinite(out.depth[hit])
    assert estimated.mean() >= 0.95
    rel = np.abs(out.depth[hit][estimated] - frame.sparse[hit][estimated]) / frame.sparse[hit][
        estimated]
    assert np.median(rel) < 0.05


@pytest.fixture(scope="session")
def output_convention() -> Callable[[CompletionOutput, SampleFrame], None]:
    """:func:`assert_output_convention` for test modules (importlib mode: no cross imports)."""
    return assert_output_convention


@pytest.fixture(scope="session")
def on_sample() -> Callable[[DepthModel, SampleFrame], CompletionOutput]:
    """:func:`run_on_sample` for test modules."""
    return run_on_sample
