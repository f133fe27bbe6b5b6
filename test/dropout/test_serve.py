"""One frame served by its tier: own scan, stale scan (decayed confidence, moved by odometry),
RGB-only, none."""
from __future__ import annotations

import math

import numpy as np
import pytest

from depth_completion_ros.dropout.motion import Pose, PoseHistory
from depth_completion_ros.dropout.policy import DropoutConfig
from depth_completion_ros.dropout.serve import Scan, ScanMemory, serve_frame
from depth_completion_ros.errors import ModelError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.models.base import CompletionOutput, ModelInput, ModelSpec
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.status import Tier

CAM = PinholeCamera(4, 4, np.array([[2.0, 0, 2], [0, 2, 2], [0, 0, 1]]))
RGB = np.zeros((4, 4, 3), np.uint8)
CONFIG = DropoutConfig(stale_scan_max_age=1.0, confidence_time_constant=2.0)


class Echo:
    """Completion stand-in: the sparse depth as depth, confidence 0.8."""

    spec = ModelSpec("echo", required=(ModelInput.SPARSE_DEPTH,), optional=(ModelInput.RGB,))
    name = spec.name

    def predict(self, rgb, sparse_depth, K):
        depth = np.where(sparse_depth > 0, sparse_depth, np.nan).astype(np.float32)
        return CompletionOutput(depth, np.full(depth.shape, 0.8, np.float32))


class Mono:
    """RGB-only stand-in: 6 m everywhere, confidence 0.3."""

    spec = ModelSpec("mono", required=(ModelInput.RGB,), optional=(ModelInput.SPARSE_DEPTH,))
    name = spec.name

    def predict(self, rgb, sparse_depth, K):
        return CompletionOutput(np.full(rgb.shape[:2], 6.0, np.float32),
                                np.full(rgb.shape[:2], 0.3, np.float32))


def scan(stamp: float, depth: float = 5.0) -> Scan:
    return Scan(stamp, np.array([[0.0, 0.0, depth]], np.float32), "velo")


def serve(stamp, own=None, last=None, dropout=True, poses=None):
    pipeline = DepthPipeline(Echo(), np.eye(4), dropout_model=Mono() if dropout else None)
    return serve_frame(pipeline, RGB, CAM, stamp, own_scan=own, last_scan=last, config=CONFIG,
                       poses=poses)


def test_own_scan_is_completion_at_full_confidence():
    served = serve(10.0, own=scan(10.0), last=scan(10.0))
    assert served.choice.tier == Tier.COMPLETION and served.result.depth[2, 2] == 5.0
    assert served.result.confidence[2, 2] == pytest.approx(0.8)


def test_young_scan_serves_with_confidence_lowered_by_age():
    served = serve(10.5, last=scan(10.0))
    assert (served.choice.tier, served.choice.scan_age) == (Tier.STALE_SCAN, 0.5)
    assert served.result.depth[2, 2] == 5.0 and served.result.model_name == "echo"
    assert served.result.confidence[2, 2] == pytest.approx(0.8 * math.exp(-0.25))
    assert not served.motion_compensated


def test_old_scan_gives_way_to_rgb_only_and_none_without_it():
    served = serve(11.5, last=scan(10.0))
    assert served.choice.tier == Tier.RGB_ONLY and served.result.model_name == "mono"
    np.testing.assert_array_equal(served.result.depth, 6.0)
    assert serve(10.0, last=None).choice.tier == Tier.RGB_ONLY  # no scan was ever received
    with pytest.raises(ModelError, match="1.50 s old"):
        serve(11.5, last=scan(10.0), dropout=False)
    with pytest.raises(ModelError, match="no scan received yet"):
        serve(10.0, last=None, dropout=False)


def test_stale_scan_moved_by_odometry():
    # driving 4 m/s along the camera's optical axis (z here: identity LiDAR -> camera)
    poses = PoseHistory()
    poses.add(10.0, Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0)))
    poses.add(11.0, Pose((0.0, 0.0, 4.0), (0.0, 0.0, 0.0, 1.0)))
    served = serve(10.5, last=scan(10.0, depth=5.0), poses=poses)
    assert served.motion_compensated and served.result.depth[2, 2] == pytest.approx(3.0)
    uncovered = serve(12.0, last=scan(11.5), poses=poses)  # no odometry at 12.0: as it was
    assert not uncovered.motion_compensated and uncovered.result.depth[2, 2] == 5.0


def test_scan_memory_keeps_the_latest():
    memory = ScanMemory()
    assert memory.latest() is None
    memory.update(scan(1.0))
    memory.update(scan(2.0))
    assert memory.latest().stamp == 2.0
    memory.clear()
    assert memory.latest() is None
