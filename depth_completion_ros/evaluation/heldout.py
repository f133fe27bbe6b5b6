"""Held-out-beam protocol: score a model on real LiDAR beams it was not given.

Definition (the models issue; the evaluation tools reuse it exactly):

1. ring = azimuth wrap-around count in scan order (ring 0 for the first point, +1 wherever
   ``|delta atan2(y, x)| > pi``: :func:`~depth_completion_ros.geometry.rings.estimate_rings`
   with ``cut="pi"``);
2. variant "32": input = rings with ``ring % 2 == 0``, ground truth = ``ring % 2 == 1``;
   variant "16": input ``ring % 4 == 0``, ground truth ``ring % 4 == 2``;
3. both sets projected into the full image (pixel = floor, z <= 0.1 m dropped, z-buffer: nearest
   wins: :func:`~depth_completion_ros.geometry.projection.project_to_depth`), then cut to the
   bottom-centre 1216x352 crop;
4. a hidden pixel of depth d is dropped when ``d > 1.1 * d_near + 0.3`` m, d_near = the minimum
   input depth in the 7x7 window around it in the crop (seen by the LiDAR, occluded for the
   camera); pixels with no input in the window are kept;
5. the model gets the full-size input sparse depth and RGB; devkit metrics are taken on the crop
   over the remaining hidden pixels and averaged over frames.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, Float64Array, IntArray, UInt8Array
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.beams import heldout_mask, input_mask
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.crop import KITTI_CROP, Box, cut
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.metrics.confidence import confident_halves
from depth_completion_ros.metrics.devkit import DepthMetrics, frame_metrics

#: variant name -> input lines (the beam split of :mod:`~depth_completion_ros.geometry.beams`:
#: 32 = input ``ring % 2 == 0``, hidden ``% 2 == 1``; 16 = input ``% 4 == 0``, hidden ``% 4 == 2``)
VARIANTS: dict[str, int] = {"32": 32, "16": 16}
OCCLUSION_WINDOW = 7
OCCLUSION_SCALE, OCCLUSION_OFFSET_M = 1.1, 0.3
MIN_DEPTH_M = 0.1


@dataclass(frozen=True)
class HeldoutFrame:
    """One frame prepared for the protocol.

    Attributes:
        sparse: (H, W) float32 metres, full-size model input (0 = none).
        groundtruth: (352, 1216) float32 metres of the kept hidden pixels (the KITTI crop), 0 =
            none.
        crop: (x0, y0, width, height) of the scoring crop in the full image.
    """

    sparse: Float32Array
    groundtruth: Float32Array
    crop: Box


def drop_occluded(groundtruth: Array, sparse: Array) -> Float32Array:
    """Hidden depths with the camera-occluded pixels set to 0 (step 4 of the module docstring).

    Args:
        groundtruth: (h, w) float32 metres, hidden beams, 0 = none.
        sparse: (h, w) float32 metres, input beams, same crop.
    """
    nearest = np.where(sparse > 0, sparse, np.inf).astype(np.float32)
    nearest = np.asarray(  # float32 already (cv2 keeps the type): no copy
        cv2.erode(nearest, np.ones((OCCLUSION_WINDOW, OCCLUSION_WINDOW), np.uint8),
                  borderType=cv2.BORDER_CONSTANT, borderValue=float("inf")), np.float32)
    occluded = groundtruth > OCCLUSION_SCALE * nearest + OCCLUSION_OFFSET_M
    return np.where(occluded, np.float32(0), groundtruth).astype(np.float32)


def split_frame(points: Array, rings: IntArray, lidar_to_camera: Array,
                camera: PinholeCamera, lines: int, *, crop: Box | None = None,
                rectified: bool = True) -> HeldoutFrame:
    """Steps 2 to 4 for given rings: model input and hidden ground truth at ``lines`` lines.

    Args:
        points: (N, >=3) LiDAR points, metres.
        rings: (N,) ring per point (the protocol's estimate, or a cloud's ring field).
        lidar_to_camera: (4, 4) LiDAR -> camera optical frame (rectified when ``rectified``).
        camera: the image's camera (size = full image).
        lines: 32, 16, 8, 4 or 0 input lines (:mod:`~depth_completion_ros.geometry.beams`).
        crop: (x0, y0, w, h) scored region; None = the KITTI crop (step 3).
        rectified: project with ``P`` (rectified image, the protocol) or with ``K`` and ``D``
            (raw image, the node's ``use_rectified: false``), the input and hidden beams alike.

    Raises:
        InputError: an unknown line count, or an image smaller than the crop.
    """
    if crop is None:
        crop = KITTI_CROP.box(camera.height, camera.width)
    x0, y0, w, h = crop
    if x0 < 0 or y0 < 0 or w <= 0 or h <= 0 or x0 + w > camera.width or y0 + h > camera.height:
        raise InputError(f"scored region (x0={x0}, y0={y0}, w={w}, h={h}) does not fit in a "
                         f"{camera.width}x{camera.height} image")
    sparse = project_to_depth(points[input_mask(rings, lines)], lidar_to_camera, camera,
                              rectified=rectified, min_depth=MIN_DEPTH_M)
    hidden = project_to_depth(points[heldout_mask(rings, lines)], lidar_to_camera, camera,
                              rectified=rectified, min_depth=MIN_DEPTH_M)
    return HeldoutFrame(sparse, drop_occluded(cut(hidden, crop), cut(sparse, crop)), crop)


def variant_lines(variant: str) -> int:
    """Input lines of a held-out variant (:data:`VARIANTS`).

    Raises:
        InputError: unknown variant.
    """
    if variant not in VARIANTS:
        raise InputError(f"held-out variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    return VARIANTS[variant]


def prepare_frame(points: Array, lidar_to_camera: Array, camera: PinholeCamera,
                  variant: str = "32") -> HeldoutFrame:
    """Split one scan into model input and hidden ground truth (steps 1 to 4).

    Args:
        points: (N, >=3) LiDAR points in storage (scan) order, metres.
        lidar_to_camera: (4, 4) LiDAR -> rectified camera.
        camera: the image's camera (size = full image).
        variant: "32" or "16" (see :data:`VARIANTS`).

    Raises:
        InputError: unknown variant, or an image smaller than the crop.
    """
    return split_frame(points, estimate_rings(points, cut="pi"), lidar_to_camera, camera,
                       variant_lines(variant))


def score_frame(depth: Array, frame: HeldoutFrame) -> DepthMetrics:
    """Devkit metrics of a full-size prediction (H, W metres) on the frame's kept hidden pixels.

    Raises:
        InputError: shapes differ from the frame's input, or no hidden pixel is left.
    """
    if depth.shape != frame.sparse.shape:
        raise InputError(f"prediction shape {depth.shape} differs from the input "
                         f"{frame.sparse.shape}")
    return frame_metrics(cut(depth, frame.crop), frame.groundtruth)


def iter_drive(root: str | Path, variant: str = "32"
               ) -> Iterator[tuple[UInt8Array, Float64Array, HeldoutFrame]]:
    """(rgb (H, W, 3) uint8, K (3, 3), :class:`HeldoutFrame`) for each frame of a KITTI drive.

    ``root`` is any folder :func:`~depth_completion_ros.io.kitti_raw.open_sequence` reads.
    """
    lines = variant_lines(variant)
    for scan in iter_drive_scans(root):
        yield scan.rgb, scan.K, scan.split(lines)


def confidence_ranking(depth: Array, confidence: Array, frame: HeldoutFrame
                       ) -> tuple[float, float]:
    """Full-size prediction (H, W) metres and its confidence against the frame's hidden pixels:
    (MAE of the more confident half, MAE of the rest), metres
    (:func:`~depth_completion_ros.metrics.confidence.confident_halves`)."""
    err = np.abs(cut(depth, frame.crop) - frame.groundtruth)
    ok = (frame.groundtruth > 0) & np.isfinite(err)
    return confident_halves(cut(confidence, frame.crop)[ok], err[ok])


@dataclass(frozen=True)
class DriveScan:
    """One frame of a KITTI drive ready for :func:`split_frame` at any line count: rgb, its
    camera (cam 2) and K, the scan's points and protocol rings, LiDAR -> camera (4, 4)."""

    rgb: UInt8Array
    camera: PinholeCamera
    K: Float64Array
    points: Array
    rings: IntArray
    lidar_to_camera: Float64Array

    def split(self, lines: int) -> HeldoutFrame:
        """The protocol's split of this scan at ``lines`` input lines (0: every ring hidden)."""
        return split_frame(self.points, self.rings, self.lidar_to_camera, self.camera, lines)


def iter_drive_scans(root: str | Path, max_frames: int = 0) -> Iterator[DriveScan]:
    """:class:`DriveScan` of each frame of a KITTI drive (the first ``max_frames``; 0 = all),
    rings by the protocol's estimate (``cut="pi"``)."""
    sequence = open_sequence(root)
    count = len(sequence.image_paths)
    for index in range(min(count, max_frames) if max_frames else count):
        frame = sequence.frame(index)
        height, width = frame.image.shape[:2]
        camera = frame.calibration.camera(2, width, height)
        yield DriveScan(frame.image, camera, camera.intrinsics(), frame.points,
                        estimate_rings(frame.points, cut="pi"),
                        frame.calibration.lidar_to_camera())
