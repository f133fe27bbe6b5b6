"""Which part of the image an evaluation scores, and why (the report says both).

* **KITTI crop** for KITTI-size images (:func:`is_kitti_size`: 1216 to 1250 pixels wide and 352
  to 380 high, which holds every KITTI raw and depth-completion image, 1224x370 to 1242x376): the
  benchmark's bottom-centre 1216x352 crop (:data:`~depth_completion_ros.geometry.crop.KITTI_CROP`),
  so the numbers compare with the benchmark's.
* **LiDAR coverage** for any other camera: the bounding box of the cloud's projection into the
  image, i.e. the rows between the highest and the lowest projected LiDAR point and the columns
  between the leftmost and the rightmost (the full width for a 360-degree LiDAR). All beams of
  the scan count, not only the input ones, so that every line count is scored on one region.
* **User crop** (``evaluate --crop W H`` = bottom-centre, like KITTI's; ``--crop X0 Y0 W H``):
  that box, with held-out beams and with ``--gt`` alike (``--gt`` otherwise scores the full
  image, as the KITTI devkit does on full-size ground truth).

The region is chosen once per bag, from its first frame (for LiDAR coverage, the first frame
whose cloud lands in the image), and then kept for every frame, like KITTI's fixed crop:
:func:`choose_region`.

Example:
    >>> is_kitti_size(1242, 375), is_kitti_size(1920, 1200)
    (True, False)
    >>> user_region((1216, 352), 1242, 375).box
    (13, 23, 1216, 352)
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np  # noqa: F401  (the examples use it)

from depth_completion_ros.arrays import Array
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.crop import KITTI_CROP, Box, Crop
from depth_completion_ros.geometry.projection import project_points

#: KITTI-size images: (min, max) width and (min, max) height, pixels, inclusive. KITTI's images
#: are 1224..1242 x 370..376 (by recording day); the range leaves a few pixels either way and
#: starts at the crop's own size, the smallest image it fits in.
KITTI_WIDTH = (KITTI_CROP.width, 1250)
KITTI_HEIGHT = (KITTI_CROP.height, 380)
#: Rule names as the JSON report writes them.
KITTI_RULE, LIDAR_RULE, USER_RULE, FULL_RULE = "kitti_crop", "lidar_coverage", "user_crop", \
    "full_image"
#: Nearest depth (metres) of a point that counts for the LiDAR coverage (the protocol's).
MIN_DEPTH_M = 0.1


@dataclass(frozen=True)
class ScoredRegion:
    """The scored box and how it was chosen.

    Attributes:
        box: (x0, y0, width, height) in the full image, pixels.
        rule: :data:`KITTI_RULE`, :data:`LIDAR_RULE`, :data:`USER_RULE` or :data:`FULL_RULE`.
        reason: one sentence for the report.
    """

    box: Box
    rule: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON report's ``scored_region``."""
        x0, y0, w, h = self.box
        return {"x0": x0, "y0": y0, "width": w, "height": h, "rule": self.rule,
                "reason": self.reason}

    def describe(self) -> str:
        """One line for the Markdown report."""
        x0, y0, w, h = self.box
        return f"{w}x{h} at x0 {x0}, y0 {y0} ({self.rule}): {self.reason}"


def is_kitti_size(width: int, height: int) -> bool:
    """True for an image of KITTI's size (:data:`KITTI_WIDTH` x :data:`KITTI_HEIGHT`)."""
    return KITTI_WIDTH[0] <= width <= KITTI_WIDTH[1] and \
        KITTI_HEIGHT[0] <= height <= KITTI_HEIGHT[1]


def kitti_region(width: int, height: int) -> ScoredRegion:
    """The KITTI crop of a KITTI-size image."""
    return ScoredRegion(
        KITTI_CROP.box(height, width), KITTI_RULE,
        f"KITTI's bottom-centre {KITTI_CROP.width}x{KITTI_CROP.height} crop (the benchmark's "
        f"scoring region): the image is {width}x{height}, KITTI-size (width "
        f"{KITTI_WIDTH[0]}-{KITTI_WIDTH[1]}, height {KITTI_HEIGHT[0]}-{KITTI_HEIGHT[1]})")


def user_region(crop: Sequence[int], width: int, height: int) -> ScoredRegion:
    """``--crop W H`` (bottom-centre) or ``--crop X0 Y0 W H`` in a ``width`` x ``height`` image.

    Raises:
        InputError: not 2 or 4 numbers, or a box that does not fit in the image.
    """
    numbers = tuple(int(v) for v in crop)
    if len(numbers) == 2:
        box = Crop(*numbers).box(height, width)
        where = f"--crop {numbers[0]} {numbers[1]}: bottom-centre"
    elif len(numbers) == 4:
        box = (numbers[0], numbers[1], numbers[2], numbers[3])
        where = f"--crop {' '.join(map(str, numbers))}"
    else:
        raise InputError(f"--crop takes W H or X0 Y0 W H, got {len(numbers)} numbers")
    x0, y0, w, h = box
    if min(box) < 0 or w == 0 or h == 0 or x0 + w > width or y0 + h > height:
        raise InputError(f"--crop {' '.join(map(str, numbers))}: does not fit in the "
                         f"{width}x{height} image")
    return ScoredRegion(box, USER_RULE, f"{where}, given by the user")


def lidar_box(points: Array, lidar_to_camera: Array, camera: PinholeCamera, *,
              rectified: bool = True) -> Box | None:
    """Bounding box (x0, y0, w, h) of the pixels the cloud lands in, None when none does.

    Args:
        points: (N, >=3) metres, LiDAR frame (every beam).
        lidar_to_camera, camera, rectified: the projection, as the pipeline's.

    Example:
        >>> cam = PinholeCamera(8, 6, np.array([[2.0, 0, 4], [0, 2, 3], [0, 0, 1]]))
        >>> lidar_box(np.array([[0.0, 0, 2], [1, 1, 2], [9, 0, 1]]), np.eye(4), cam)
        (4, 3, 2, 2)
    """
    projected = project_points(points, lidar_to_camera, camera, rectified=rectified,
                               min_depth=MIN_DEPTH_M)
    if projected.u.size == 0:
        return None
    x0, x1 = int(projected.u.min()), int(projected.u.max())
    y0, y1 = int(projected.v.min()), int(projected.v.max())
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def lidar_region(box: Box, width: int, height: int, frame: int) -> ScoredRegion:
    """The LiDAR-coverage region of a non-KITTI-size image (``box`` from :func:`lidar_box`)."""
    x0, y0, w, h = box
    return ScoredRegion(
        box, LIDAR_RULE,
        f"the region the LiDAR covers: rows {y0}-{y0 + h - 1} (highest to lowest projected "
        f"point) and columns {x0}-{x0 + w - 1} of frame {frame}'s scan, all beams, kept for the "
        f"whole bag; the image is {width}x{height}, not KITTI-size (width "
        f"{KITTI_WIDTH[0]}-{KITTI_WIDTH[1]}, height {KITTI_HEIGHT[0]}-{KITTI_HEIGHT[1]}), so "
        f"KITTI's crop would score little of what the LiDAR sees")


def full_region(width: int, height: int, reason: str) -> ScoredRegion:
    """The whole image."""
    return ScoredRegion((0, 0, width, height), FULL_RULE, reason)


def choose_region(frames: Iterable[tuple[int, PinholeCamera, Array | None]],
                  lidar_to_camera: Array, *, heldout: bool, rectified: bool = True,
                  crop: Sequence[int] | None = None) -> ScoredRegion | None:
    """The region of a bag (see the module docstring) from its frames, read only as far as needed.

    Args:
        frames: (frame index, camera, points or None) in bag order.
        lidar_to_camera: (4, 4) LiDAR -> camera optical frame.
        heldout: held-out beams (automatic choice); False: KITTI ground truth (full image).
        rectified: the projection path of the pipeline.
        crop: ``--crop`` numbers, or None.

    Returns:
        The region, or None when the bag has no frame at all.

    Raises:
        InputError: a ``crop`` that does not fit the first image.
    """
    first: tuple[int, int] | None = None
    for index, camera, points in frames:
        width, height = camera.width, camera.height
        if crop is not None:
            return user_region(crop, width, height)
        if not heldout:
            return full_region(width, height, "full image: KITTI ground truth is scored where "
                                              "it is, as the devkit does")
        if is_kitti_size(width, height):
            return kitti_region(width, height)
        first = first or (width, height)
        box = None if points is None else lidar_box(points, lidar_to_camera, camera,
                                                    rectified=rectified)
        if box is not None:
            return lidar_region(box, width, height, index)
    if first is None:
        return None
    return full_region(*first, "full image: no LiDAR point of the bag lands in the image")
