"""What a model gets and what it is scored on, per frame and line count, and the scoring itself.

Two ground truths:

* held-out beams (:func:`depth_completion_ros.evaluation.heldout.split_frame`, the protocol's
  own steps on the given rings with the beam split of
  :mod:`~depth_completion_ros.geometry.beams`): scored on the bottom-centre 1216x352 crop;
* KITTI depth-completion PNGs: scored on the full image.

Rings: ``"estimate"`` = the protocol's definition (:func:`estimate_rings` with ``cut="pi"`` on
the cloud in its stored order, right for bags made from KITTI ``.bin`` scans, whose clouds keep
that order), refused for a cloud it does not fit (:func:`estimate_problem`); ``"field"`` = the
cloud's ``ring`` field (driver bags, whose clouds are not in scan order); ``"auto"`` = the field
when the cloud has one, else the estimate (:func:`choose_ring_source` turns ``"auto"`` into
``"estimate"`` for bags converted from KITTI scans, whose ring field is the converter's own
estimate). A cloud whose rings cannot be used raises :class:`RingError`: the frame is skipped
with that reason, the evaluation goes on.

Scoring follows the devkit, which reads 16-bit PNGs: prediction and ground truth are both taken
through the KITTI 16-bit encoding (1/256 m) before :func:`frame_metrics`, so the numbers equal
those of any scorer that reads the PNGs ``--save-predictions`` writes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, IntArray
from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation import heldout
from depth_completion_ros.geometry.beams import input_mask
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.crop import Box, cut
from depth_completion_ros.geometry.rings import estimate_rings, point_rings
from depth_completion_ros.io.depth_png import depth_to_uint16, uint16_to_depth
from depth_completion_ros.metrics.devkit import DepthMetrics, binned_metrics, frame_metrics

RING_SOURCES = ("auto", "estimate", "field")
#: Fewest rings the estimate may find in a cloud: fewer means the cloud is not stored beam after
#: beam over full turns (a driver's column-by-column order, or a cloud cut to the camera's field
#: of view), where every split would silently put (almost) all points on one side.
MIN_ESTIMATED_RINGS = 16
#: Most rings the estimate may find: the spinning LiDARs with the most beams have 128 (the
#: ``"pi"`` cut adds one); more wrap-arounds mean a cloud in no scan order at all (sorted by
#: voxel or distance, or a driver's seam where per-laser azimuth offsets straddle +-pi).
MAX_ESTIMATED_RINGS = 256
#: Largest share of the estimate's biggest ring, in mean rings (points / rings). Every beam of a
#: spinning LiDAR fires equally often, so a ring holds at most one turn of firings and
#: ``largest / mean <= 1 / (fraction of firings that return)``: 4 would need three quarters of
#: all firings lost. Real KITTI scans (16 + 51 + 4 + 6 full frames): at most 1.25. A wrong
#: estimate puts most of the cloud into one or two rings and many tiny ones around them.
MAX_RING_SHARE = 4.0


class RingError(InputError):
    """The rings of one cloud cannot be used (no ring field, or an estimate that does not fit the
    scan): the frame is skipped with this reason, the evaluation goes on."""


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


def choose_ring_source(requested: str, kitti_scan_order: bool) -> tuple[str, str]:
    """The ring source an evaluation uses, and why (for the report).

    Args:
        requested: ``"auto"``, ``"estimate"`` or ``"field"`` (``--rings``).
        kitti_scan_order: the bag was converted from KITTI ``.bin`` scans (its metadata says so):
            its clouds keep the scan order and its ring field is the converter's own estimate,
            so ``"auto"`` means the protocol's estimate there (the held-out protocol's numbers).

    Raises:
        InputError: an unknown ring source.

    Example:
        >>> choose_ring_source("auto", kitti_scan_order=True)[0]
        'estimate'
    """
    if requested not in RING_SOURCES:
        raise InputError(f"ring source must be one of {RING_SOURCES}, got {requested!r}")
    if requested != "auto":
        return requested, f"{requested} (requested)"
    if kitti_scan_order:
        return "estimate", ("auto -> estimate: the bag was converted from KITTI .bin scans, "
                            "stored in scan order (its ring field is the converter's own "
                            "estimate), so the protocol's azimuth wrap-around estimate")
    return "auto", ("auto: each cloud's ring field, the azimuth wrap-around estimate for a cloud "
                    "without one (refused where it does not fit the scan)")


def estimate_problem(rings: IntArray) -> str | None:
    """Why an estimate from :func:`estimate_rings` does not fit a spinning LiDAR's scan, or None.

    Refused: fewer than :data:`MIN_ESTIMATED_RINGS` or more than :data:`MAX_ESTIMATED_RINGS`
    rings, or a largest ring of more than :data:`MAX_RING_SHARE` mean rings.

    Example:
        >>> estimate_problem(np.repeat(np.arange(64), 100)) is None
        True
        >>> estimate_problem(np.repeat(np.arange(20), [1000] + [10] * 19))[:30]
        'the largest ring holds 1000 po'
    """
    sizes = np.bincount(np.asarray(rings)) if rings.size else np.zeros(0, np.int64)
    found, hint = len(sizes), "use --rings field (or auto) for a cloud with a ring field"
    if found < MIN_ESTIMATED_RINGS:
        return (f"found {found} rings in a cloud of {rings.size} points (at least "
                f"{MIN_ESTIMATED_RINGS} expected): its points are not stored beam after beam "
                f"over full turns (KITTI .bin order); {hint}")
    if found > MAX_ESTIMATED_RINGS:
        return (f"found {found} rings in a cloud of {rings.size} points (at most "
                f"{MAX_ESTIMATED_RINGS} expected): its points are in no scan order; {hint}")
    mean = rings.size / found
    if sizes.max() > MAX_RING_SHARE * mean:
        return (f"the largest ring holds {int(sizes.max())} points, {sizes.max() / mean:.1f} "
                f"times the mean ring ({mean:.0f} points of {found} rings; at most "
                f"{MAX_RING_SHARE:g} expected): rings of wildly unequal size are not beams; "
                f"{hint}")
    return None


def frame_rings(points: Array, ring_field: Array | None, source: str) -> IntArray:
    """(N,) ring per point: the protocol's estimate, the cloud's ``ring`` field, or ``"auto"``
    (the field when the cloud has one, else the estimate).

    Raises:
        InputError: unknown ``source``.
        RingError: ``"field"`` for a cloud without a ring field, or an estimate that does not fit
            the scan (:func:`estimate_problem`).
    """
    if source not in RING_SOURCES:
        raise InputError(f"ring source must be one of {RING_SOURCES}, got {source!r}")
    if source == "estimate" or (source == "auto" and ring_field is None):
        rings = estimate_rings(points, cut="pi")
        problem = estimate_problem(rings)
        if problem is not None:
            raise RingError(f"ring source '{source}' (estimate): {problem}")
        return rings
    if ring_field is None:
        raise RingError("ring source 'field': the cloud has no ring field; use 'auto' or "
                        "'estimate'")
    try:
        return point_rings(points, ring_field)
    except InputError as err:
        raise RingError(f"ring source '{source}' (field): {err}") from err


def heldout_target(points: Array, rings: IntArray, lidar_to_camera: Array,
                   camera: PinholeCamera, lines: int, *, crop: Box | None = None,
                   rectified: bool = True) -> ScoringTarget:
    """Held-out-beam input and ground truth (see the module docstring).

    Args:
        points: (N, 3) metres, LiDAR frame, in stored order.
        rings: (N,) ring per point (from :func:`frame_rings`), used as given.
        lidar_to_camera: (4, 4).
        camera: the image's camera.
        lines: 32, 16, 8, 4 or 0 input lines.
        crop: (x0, y0, w, h) scored region (:mod:`~depth_completion_ros.evaluation.region`);
            None = the KITTI crop.
        rectified: project with ``P`` (True) or with ``K`` and ``D`` (raw image), as the
            pipeline does.
    """
    frame = heldout.split_frame(points, rings, lidar_to_camera, camera, lines, crop=crop,
                                rectified=rectified)
    return ScoringTarget(points[input_mask(rings, lines)] if lines else None,
                         frame.groundtruth, frame.crop)


def gt_target(points: Array | None, rings: IntArray | None, groundtruth: Float32Array,
              lines: int, crop: Box | None = None) -> ScoringTarget:
    """KITTI ground-truth target: the first ``lines`` of 64 as input, scored on ``crop``
    (default: the full image).

    ``rings`` may be None only when no ring split is needed (no points, 0 or 64 lines).

    Raises:
        InputError: no ``rings`` for a line count that splits the scan.
    """
    height, width = groundtruth.shape
    box = crop if crop is not None else (0, 0, width, height)
    truth = groundtruth if crop is None else cut(groundtruth, crop)
    if lines == 0 or points is None:
        return ScoringTarget(None, truth, box)
    if lines == 64:
        return ScoringTarget(points[:], truth, box)
    if rings is None:
        raise InputError(f"{lines} input lines need the ring of every point, got none")
    return ScoringTarget(points[input_mask(rings, lines)], truth, box)


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
