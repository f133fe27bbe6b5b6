"""What a model gets and what it is scored on, per frame and line count, and the scoring itself.

Two ground truths:

* held-out beams (:func:`depth_completion_ros.evaluation.heldout.split_frame`, the protocol's
  own steps on the given rings with the beam split of
  :mod:`~depth_completion_ros.geometry.beams`): scored on the bottom-centre 1216x352 crop;
* KITTI depth-completion PNGs: scored on the full image.

Rings: ``"estimate"`` = the protocol's definition (:func:`estimate_rings` with ``cut="pi"`` on
the cloud in its stored order, right for bags made from KITTI ``.bin`` scans, whose clouds keep
that order); ``"field"`` = the cloud's ``ring`` field (driver bags, whose clouds are not in scan
order).

Scoring follows the devkit, which reads 16-bit PNGs: prediction and ground truth are both taken
through the KITTI 16-bit encoding (1/256 m) before :func:`frame_metrics`, so the numbers equal
those of any scorer that reads the PNGs ``--save-predictions`` writes.
"""
from __future__ import annotations

from dataclasses import dataclass

from depth_completion_ros.arrays import Array, Float32Array, IntArray
from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation import heldout
from depth_completion_ros.geometry.beams import input_mask
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.crop import Box, cut
from depth_completion_ros.geometry.rings import estimate_rings, point_rings
from depth_completion_ros.io.depth_png import depth_to_uint16, uint16_to_depth
from depth_completion_ros.metrics.devkit import DepthMetrics, binned_metrics, frame_metrics

RING_SOURCES = ("estimate", "field")
#: Fewest rings the estimate may find in a cloud: fewer means the cloud is not stored beam after
#: beam over full turns (a driver's column-by-column order, or a cloud cut to the camera's field
#: of view), where every split would silently put (almost) all points on one side.
MIN_ESTIMATED_RINGS = 16


@dataclass(frozen=True)
class ScoringTarget:
    """Model input and ground truth of one frame at one line count.

    Attributes:
        input_points: (M, 3) float32 metres (LiDAR frame) given to the model, None = no LiDAR.
        groundtruth: (h, w) float32 metres on the crop, 0 = no ground truth.
        crop: (x0, y0, w, h) of the scored region in the full image.
    """

    input_points: Array | None
    groundtruth: Float32Array
    crop: Box


def frame_rings(points: Array, ring_field: Array | None, source: str) -> IntArray:
    """(N,) ring per point: the protocol's estimate, or the cloud's ``ring`` field.

    Raises:
        InputError: unknown ``source``, ``"field"`` for a cloud without a ring field, or
            ``"estimate"`` finding fewer than :data:`MIN_ESTIMATED_RINGS` rings.
    """
    if source not in RING_SOURCES:
        raise InputError(f"ring source must be one of {RING_SOURCES}, got {source!r}")
    if source == "estimate":
        rings = estimate_rings(points, cut="pi")
        found = int(rings.max()) + 1 if rings.size else 0
        if found < MIN_ESTIMATED_RINGS:
            raise InputError(
                f"ring source 'estimate': found {found} rings in a cloud of {rings.size} points "
                f"(at least {MIN_ESTIMATED_RINGS} expected): its points are not stored beam "
                f"after beam over full turns (KITTI .bin order); use --rings field")
        return rings
    if ring_field is None:
        raise InputError("ring source 'field': the cloud has no ring field; use 'estimate'")
    return point_rings(points, ring_field)


def heldout_target(points: Array, rings: IntArray, lidar_to_camera: Array,
                   camera: PinholeCamera, lines: int) -> ScoringTarget:
    """Held-out-beam input and ground truth (see the module docstring).

    Args:
        points: (N, 3) metres, LiDAR frame, in stored order.
        rings: (N,) ring per point (from :func:`frame_rings`), used as given.
        lidar_to_camera: (4, 4).
        camera: the image's camera.
        lines: 32, 16, 8, 4 or 0 input lines.
    """
    frame = heldout.split_frame(points, rings, lidar_to_camera, camera, lines)
    return ScoringTarget(points[input_mask(rings, lines)] if lines else None,
                         frame.groundtruth, frame.crop)


def gt_target(points: Array | None, rings: IntArray | None, groundtruth: Float32Array,
              lines: int) -> ScoringTarget:
    """KITTI ground-truth target: the first ``lines`` of 64 as input, scored on the full image.

    ``rings`` may be None only when no ring split is needed (no points, 0 or 64 lines).

    Raises:
        InputError: no ``rings`` for a line count that splits the scan.
    """
    height, width = groundtruth.shape
    if lines == 0 or points is None:
        return ScoringTarget(None, groundtruth, (0, 0, width, height))
    if lines == 64:
        return ScoringTarget(points[:], groundtruth, (0, 0, width, height))
    if rings is None:
        raise InputError(f"{lines} input lines need the ring of every point, got none")
    return ScoringTarget(points[input_mask(rings, lines)], groundtruth, (0, 0, width, height))


def quantise(depth: Array) -> Float32Array:
    """(H, W) metres through the KITTI 16-bit PNG encoding (1/256 m; NaN / <= 0 -> 0)."""
    return uint16_to_depth(depth_to_uint16(depth))


def score(depth: Array, target: ScoringTarget
          ) -> tuple[DepthMetrics, dict[tuple[float, float], DepthMetrics | None], Float32Array,
                     Float32Array]:
    """Score a full-size prediction on the target's crop.

    Returns:
        (metrics, per-distance-bin metrics, quantised prediction crop, quantised ground truth),
        the last two exactly what a KITTI PNG of each holds.

    Raises:
        InputError: no ground-truth pixel in the crop.
    """
    prediction = quantise(cut(depth, target.crop))
    groundtruth = quantise(target.groundtruth)
    return (frame_metrics(prediction, groundtruth), binned_metrics(prediction, groundtruth),
            prediction, groundtruth)
