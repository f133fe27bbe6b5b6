"""Offline evaluation: the node's pipeline over a bag, frame by frame, deterministic.

Frames come from :func:`~depth_completion_ros.evaluation.frames.iter_bag_frames` (the node's sync
policy and message conversions), depth from :class:`~depth_completion_ros.pipeline.DepthPipeline`
(the node's per-frame code), scores from :mod:`~depth_completion_ros.evaluation.scoring`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, UInt8Array
from depth_completion_ros.bag.topics import BagTopics
from depth_completion_ros.errors import InputError, ModelError
from depth_completion_ros.evaluation.frames import BadMessage, EvalFrame, iter_bag_frames
from depth_completion_ros.evaluation.ground_truth import KittiGroundTruth
from depth_completion_ros.evaluation.region import ScoredRegion
from depth_completion_ros.evaluation.results import FrameRow, bin_label
from depth_completion_ros.evaluation.scoring import (
    RingError,
    ScoringTarget,
    frame_rings,
    gt_target,
    heldout_target,
    score,
)
from depth_completion_ros.io.depth_png import write_depth_png
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.settings import PipelineSettings
from depth_completion_ros.status import FrameStatus
from depth_completion_ros.sync.policy import SyncConfig


@dataclass(frozen=True)
class EvaluationSetup:
    """What to evaluate on a bag.

    Attributes:
        bag: the bag.
        topics: image / camera info / points topics.
        lines: line counts to run (see :mod:`~depth_completion_ros.geometry.beams`).
        groundtruth: KITTI ground truth, or None for held-out beams.
        ring_source: "estimate" (the protocol's), "field" or "auto" (the field when a cloud has
            one, else the estimate: :func:`~depth_completion_ros.evaluation.scoring.frame_rings`).
        save_predictions: folder for ``lines_<N>/{prediction,groundtruth}/<frame>.png``
            (:func:`saved_name`), or None.
        pipeline: the node's pipeline settings (projection path, depth range, sync timing); the
            held-out beams are projected on the same path (``use_rectified``).
        region: the scored region of every frame
            (:func:`~depth_completion_ros.evaluation.region.choose_region`), or None: the KITTI
            crop with held-out beams, the full image with ground truth.
    """

    bag: Path
    topics: BagTopics
    lines: tuple[int, ...]
    groundtruth: KittiGroundTruth | None = None
    ring_source: str = "estimate"
    save_predictions: Path | None = None
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    region: ScoredRegion | None = None

    @property
    def sync(self) -> SyncConfig:
        """The node's sync timing."""
        return self.pipeline.sync


@dataclass
class Snapshot:
    """Images of one scored frame for the report's figures (metres; crop of the scored region)."""

    lines: int
    frame: int
    rgb: UInt8Array
    depth: Float32Array
    confidence: Float32Array
    groundtruth: Float32Array


def make_target(frame: EvalFrame, lines: int, setup: EvaluationSetup,
                lidar_to_camera: Array) -> ScoringTarget | None:
    """The frame's input and ground truth at ``lines``; None when it has no ground truth.

    Raises:
        RingError: the cloud's rings cannot be used (the caller skips the frame with the reason).
    """
    box = setup.region.box if setup.region is not None else None
    if setup.groundtruth is not None:
        height, width = frame.rgb.shape[:2]
        depth = setup.groundtruth.depth(frame.index, frame.stamp_ns, (height, width))
        if depth is None:
            return None
        rings = None if frame.points is None or lines in (0, 64) else \
            frame_rings(frame.points, frame.ring, setup.ring_source)
        return gt_target(frame.points, rings, depth, lines, box)
    if frame.points is None:
        return None
    rings = frame_rings(frame.points, frame.ring, setup.ring_source)
    return heldout_target(frame.points, rings, lidar_to_camera, frame.camera, lines, crop=box,
                          rectified=setup.pipeline.use_rectified)


def rings_refused_row(row: FrameRow, err: RingError) -> FrameRow:
    """``row`` marked skipped because its cloud's rings cannot be used, with the reason."""
    row.status, row.reason = FrameStatus.RINGS_REFUSED, str(err)
    return row


def bad_message_row(bad: BadMessage, lines: int) -> FrameRow:
    """The row of a message the decoders rejected: skipped at every line count, like a frame,
    so each line count's summary counts it; ``reason`` says what was wrong."""
    return FrameRow(lines, bad.index, bad.stamp_ns, FrameStatus.BAD_MESSAGE, reason=bad.reason)


def evaluate_frame(pipeline: DepthPipeline, frame: EvalFrame, lines: int,
                   setup: EvaluationSetup) -> tuple[FrameRow, Snapshot | None]:
    """Run and score one frame at one line count; the row says why when it is not scored."""
    row = FrameRow(lines, frame.index, frame.stamp_ns, FrameStatus.SCORED)
    try:
        target = make_target(frame, lines, setup, pipeline.lidar_to_camera)
    except RingError as err:
        return rings_refused_row(row, err), None
    if target is None:
        row.status = FrameStatus.NO_GROUND_TRUTH if frame.points is not None or \
            setup.groundtruth else FrameStatus.NO_CLOUD
        return row, None
    try:
        result = pipeline.process(frame.rgb, frame.camera, target.input_points)
    except ModelError as err:
        row.status = f"{FrameStatus.NOT_SERVABLE}: {err}"
        return row, None
    row.mode, row.latency_ms = result.mode, result.timings_ms.get("total", float("nan"))
    return _score_into(row, result.depth, result.confidence, frame, target, setup)


def saved_name(frame: EvalFrame, setup: EvaluationSetup) -> str:
    """File name of a frame's ``--save-predictions`` PNGs, after its source frame so that they
    pair with a ground-truth folder: ``%010d.png`` of the KITTI frame number (with ``--gt``, the
    number of the PNG it was scored against; else the one the converter stored in the bag), else
    ``<image stamp in ns>.png``."""
    number = frame.source_frame if setup.groundtruth is None else \
        setup.groundtruth.frame_number(frame.index, frame.stamp_ns)
    return f"{number:010d}.png" if number is not None else f"{frame.stamp_ns}.png"


def _score_into(row: FrameRow, depth: Array, confidence: Float32Array | None,
                frame: EvalFrame, target: ScoringTarget,
                setup: EvaluationSetup) -> tuple[FrameRow, Snapshot | None]:
    """Fill ``row`` with the scores of ``depth``; save PNGs; a snapshot for the figures."""
    try:
        metrics, bins, prediction, groundtruth = score(depth, target)
    except InputError:
        row.status = FrameStatus.NO_GROUND_TRUTH
        return row, None
    row.metrics, row.bins = metrics, {bin_label(b): m for b, m in bins.items()}
    if setup.save_predictions is not None:
        folder, name = setup.save_predictions / f"lines_{row.lines}", saved_name(frame, setup)
        write_depth_png(folder / "prediction" / name, prediction)
        write_depth_png(folder / "groundtruth" / name, groundtruth)
    x0, y0, w, h = target.crop
    conf = confidence[y0:y0 + h, x0:x0 + w] if confidence is not None \
        else np.zeros_like(prediction)
    return row, Snapshot(row.lines, frame.index, frame.rgb[y0:y0 + h, x0:x0 + w].copy(),
                         prediction, conf, groundtruth)


def evaluate_offline(pipeline: DepthPipeline, setup: EvaluationSetup, *,
                     keep_snapshots: int = 3,
                     progress: Callable[[FrameRow], None] | None = None
                     ) -> tuple[list[FrameRow], list[Snapshot]]:
    """Evaluate every frame of the bag at every line count of ``setup``.

    Returns:
        (rows, snapshots): one row per frame (and per bad message, see :func:`bad_message_row`)
        and line count in bag order; the first ``keep_snapshots`` scored frames of each line
        count for the figures.
    """
    rows: list[FrameRow] = []
    snapshots: list[Snapshot] = []
    for frame in iter_bag_frames(setup.bag, setup.topics, setup.sync):
        for lines in setup.lines:
            if isinstance(frame, BadMessage):
                row, snapshot = bad_message_row(frame, lines), None
            else:
                row, snapshot = evaluate_frame(pipeline, frame, lines, setup)
            rows.append(row)
            if snapshot is not None and \
                    sum(s.lines == lines for s in snapshots) < keep_snapshots:
                snapshots.append(snapshot)
            if progress is not None:
                progress(row)
    return rows, snapshots
