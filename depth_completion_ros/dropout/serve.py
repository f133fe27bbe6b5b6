"""One frame served by the tier the dropout policy chooses (the node's worker calls this).

:class:`ScanMemory` keeps the most recent scan received (thread-safe: the cloud callback writes,
the worker reads); :func:`serve_frame` chooses the tier
(:mod:`~depth_completion_ros.dropout.policy`) and runs the pipeline on the frame's own scan, the
stale scan (moved into the current pose when odometry covers both stamps) or no scan.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from depth_completion_ros.arrays import Array, UInt8Array
from depth_completion_ros.dropout.motion import PoseHistory
from depth_completion_ros.dropout.policy import DropoutConfig, TierChoice, choose_tier
from depth_completion_ros.errors import ModelError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.pipeline import DepthPipeline, FrameResult
from depth_completion_ros.status import Mode, Tier


@dataclass(frozen=True)
class Scan:
    """A LiDAR scan: stamp (seconds), (N, >=3) points in metres (LiDAR frame), its frame id."""

    stamp: float
    points: Array
    frame_id: str = ""


class ScanMemory:
    """The most recent scan received (None before the first, or after :meth:`clear`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: Scan | None = None

    def update(self, scan: Scan) -> None:
        """Keep ``scan`` as the most recent one."""
        with self._lock:
            self._latest = scan

    def latest(self) -> Scan | None:
        """The most recent scan, or None."""
        with self._lock:
            return self._latest

    def clear(self) -> None:
        """Forget the scan (stamps went backwards: it belongs to another run)."""
        with self._lock:
            self._latest = None


@dataclass(frozen=True)
class ServedFrame:
    """A frame's result, the tier that served it and whether its stale scan was moved."""

    result: FrameResult
    choice: TierChoice
    motion_compensated: bool = False


def serve_frame(pipeline: DepthPipeline, rgb: UInt8Array | None, camera: PinholeCamera,
                image_stamp: float, *, own_scan: Scan | None, last_scan: Scan | None,
                config: DropoutConfig, poses: PoseHistory | None = None,
                transform_of: Callable[[Scan], Array | None] = lambda scan: None
                ) -> ServedFrame:
    """Serve one frame by the tier the policy chooses.

    Args:
        pipeline: the node's pipeline (completion model and, when configured, the model that
            runs without LiDAR).
        rgb: (H, W, 3) uint8 or None; camera: its camera.
        image_stamp: seconds.
        own_scan: the cloud paired with this image, or None.
        last_scan: the most recent scan received, or None.
        config: the tiers' timing.
        poses: odometry, for moving a stale scan into the image's pose; None = no motion
            compensation (also when the history does not cover both stamps).
        transform_of: (4, 4) LiDAR -> camera of a scan, or None for the pipeline's own (tf2
            looks it up per frame id).

    Raises:
        ModelError: no tier can serve the frame (no young scan and no model that runs without
            LiDAR), with the reason.
        InputError: bad input (as :meth:`DepthPipeline.process`).
    """
    scan = own_scan if own_scan is not None else last_scan
    choice = choose_tier(paired=own_scan is not None,
                         scan_age=None if scan is None else image_stamp - scan.stamp,
                         rgb_only=pipeline.model_for(Mode.PREDICTION) is not None,
                         config=config)
    if choice.tier == Tier.NONE:
        raise ModelError(_unservable(choice, pipeline, config))
    if choice.tier == Tier.RGB_ONLY or scan is None:
        return ServedFrame(pipeline.process(rgb, camera, None), choice)
    points, moved = scan.points, False
    if choice.tier == Tier.STALE_SCAN and poses is not None:
        compensated = poses.compensate(scan.points, scan.stamp, image_stamp)
        points, moved = (points, False) if compensated is None else (compensated, True)
    result = pipeline.process(rgb, camera, points, transform_of(scan))
    if choice.confidence_scale != 1.0:
        result.confidence *= choice.confidence_scale
    return ServedFrame(result, choice, moved)


def _unservable(choice: TierChoice, pipeline: DepthPipeline, config: DropoutConfig) -> str:
    """Why no tier serves a frame."""
    scan = "no scan received yet" if choice.scan_age is None else \
        f"the latest scan is {choice.scan_age:.2f} s old (stale_scan_max_age " \
        f"{config.stale_scan_max_age:g} s)"
    return (f"no tier can serve the frame: {scan}, and model {pipeline.model.name!r} needs "
            "LiDAR with no dropout_model serving")
