"""A LiDAR gap scored: the depth served during a dropout against the hidden beams of those
frames, beside the same frames completed with their own scan (all LiDAR).

Each frame is split by the held-out-beam protocol (:mod:`~depth_completion_ros.evaluation.
heldout`, 32 input lines by default): the node (or any server of the gap) gets the input rings
of the frames outside the gap and nothing during it; every served depth of a gap frame is scored
on that frame's hidden rings, per tier (stale scan, RGB-only) and over the whole gap; the
all-LiDAR figure runs the completion model on each gap frame's own input rings, the score the
frame would have had without the dropout. Metrics are the devkit's, averaged over frames.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from depth_completion_ros.arrays import Array, Float32Array, UInt8Array
from depth_completion_ros.evaluation.heldout import HeldoutFrame, score_frame, split_frame
from depth_completion_ros.geometry.beams import input_mask
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.metrics.devkit import DepthMetrics, mean_metrics
from depth_completion_ros.pipeline import DepthPipeline

ALL_TIERS = "gap, every tier"
ALL_LIDAR = "gap frames, own scan (all LiDAR)"


@dataclass(frozen=True)
class HeldoutScan:
    """One frame split for the protocol.

    Attributes:
        rgb: (H, W, 3) uint8; camera: its camera.
        input_points: (M, >=3) float32 metres, the input rings (what a server is given).
        target: the hidden rings as ground truth (:class:`HeldoutFrame`).
    """

    rgb: UInt8Array
    camera: PinholeCamera
    input_points: Float32Array
    target: HeldoutFrame


def split_scan(rgb: UInt8Array, camera: PinholeCamera, points: Array, lidar_to_camera: Array,
               lines: int = 32) -> HeldoutScan:
    """Split a KITTI-order scan into input rings and hidden ground truth (the protocol's ring
    estimate, the KITTI crop)."""
    rings = estimate_rings(points, cut="pi")
    target = split_frame(points, rings, lidar_to_camera, camera, lines)
    return HeldoutScan(rgb, camera, points[input_mask(rings, lines)], target)


@dataclass(frozen=True)
class GapReport:
    """Scores of a gap: source (tier, :data:`ALL_TIERS`, :data:`ALL_LIDAR`) -> (frames, mean
    metrics or None when none was scored)."""

    scores: dict[str, tuple[int, DepthMetrics | None]]

    def rmse_mm(self, source: str) -> float:
        """Mean RMSE (mm) of ``source``; NaN when it scored no frame."""
        metrics = self.scores.get(source, (0, None))[1]
        return float("nan") if metrics is None else metrics.rmse_mm

    def table(self) -> str:
        """The scores as a Markdown table (RMSE / MAE in mm)."""
        lines = ["| depth of the gap frames from | frames | RMSE (mm) | MAE (mm) |",
                 "| --- | --- | --- | --- |"]
        for source, (count, metrics) in self.scores.items():
            figures = "- | -" if metrics is None else \
                f"{metrics.rmse_mm:.1f} | {metrics.mae_mm:.1f}"
            lines.append(f"| {source} | {count} | {figures} |")
        return "\n".join(lines)


def score_gap(scans: Sequence[HeldoutScan], gap: Sequence[int],
              depths: Mapping[int, Float32Array], tiers: Mapping[int, str],
              pipeline: DepthPipeline) -> GapReport:
    """Score the depth served for the gap frames, per tier and in all, beside all-LiDAR.

    Args:
        scans: every frame, split (:func:`split_scan`).
        gap: indices into ``scans`` of the frames whose cloud was withheld.
        depths: index -> the (H, W) depth served (a frame missing here is not scored).
        tiers: index -> the tier that served it.
        pipeline: the completion model, run on each gap frame's own input rings.
    """
    per_tier: dict[str, list[DepthMetrics | None]] = {}
    for i in gap:
        if i in depths:
            per_tier.setdefault(tiers.get(i, "?"), []).append(
                score_frame(depths[i], scans[i].target))
    scores = {tier: (len(m), mean_metrics(m)) for tier, m in per_tier.items()}
    served = [m for ms in per_tier.values() for m in ms]
    scores[ALL_TIERS] = (len(served), mean_metrics(served))
    own = [score_frame(pipeline.process(scans[i].rgb, scans[i].camera,
                                        scans[i].input_points).depth, scans[i].target)
           for i in gap]
    scores[ALL_LIDAR] = (len(own), mean_metrics(own))
    return GapReport(scores)
