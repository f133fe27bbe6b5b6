"""KITTI depth-completion ground truth for the frames of a bag.

Layout: ``GT_DIR/proj_depth/groundtruth/image_02/%010d.png`` (``GT_DIR`` = one drive of
``data_depth_annotated``; the ``image_02`` folder itself is accepted too). A bag image is matched
to a PNG by its KITTI frame number: the one ``depth-completion convert`` stored in the bag's
metadata, else the image's position in the bag; or, given the drive's camera ``timestamps.txt``,
by stamp (line ``i`` = frame ``i``): the nearest line within :data:`STAMP_TOLERANCE_NS`, so bags
whose stamps went through microseconds or float seconds (``kitti2bag``, ROS 1 conversions) match
too. Frames without a PNG are skipped and counted by the caller. A PNG whose size differs from the
image's is an error, not a skip.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_completion_ros.arrays import Float32Array, IntArray
from depth_completion_ros.bag.reading import custom_metadata
from depth_completion_ros.bag.topics import SOURCE_KEY
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.io.depth_png import read_depth_png
from depth_completion_ros.io.kitti_raw import read_timestamps

#: Largest |image stamp - timestamps.txt line| of a stamp match, ns (KITTI frames are 100 ms
#: apart; tools that store float seconds or microseconds shift stamps by up to about 1 us).
STAMP_TOLERANCE_NS = 1_000_000


def gt_folder(gt_dir: str | Path, camera: int = 2) -> Path:
    """The folder holding the ``%010d.png`` ground-truth files of ``camera``.

    Raises:
        DataFormatError: neither ``gt_dir/proj_depth/groundtruth/image_0c`` nor ``gt_dir``
            holds PNG files.
    """
    gt_dir = Path(gt_dir)
    for folder in (gt_dir / "proj_depth" / "groundtruth" / f"image_0{camera}", gt_dir):
        if folder.is_dir() and any(folder.glob("*.png")):
            return folder
    raise DataFormatError(f"{gt_dir}: no ground-truth PNGs (expected "
                          f"proj_depth/groundtruth/image_0{camera}/%010d.png)")


def bag_frame_numbers(bag: str | Path) -> list[int] | None:
    """KITTI frame number of each bag image, from the metadata ``convert`` writes; else None."""
    source = custom_metadata(bag).get(SOURCE_KEY, "")
    prefix = "kitti frames "
    if not source.startswith(prefix):
        return None
    return [int(v) for v in source[len(prefix):].split(",") if v]


@dataclass(frozen=True)
class KittiGroundTruth:
    """Looks up the ground truth of a bag image.

    Attributes:
        folder: folder of ``%010d.png`` files.
        frame_numbers: KITTI frame number per bag image position (None = the position itself).
        stamps: (F,) int64 ns, line ``i`` of the drive's timestamps.txt (frame ``i``), when
            matching by stamp.
    """

    folder: Path
    frame_numbers: list[int] | None = None
    stamps: IntArray | None = None

    @classmethod
    def open(cls, gt_dir: str | Path, bag: str | Path, *, camera: int = 2,
             timestamps: str | Path | None = None) -> KittiGroundTruth:
        """Ground truth for ``bag``; with ``timestamps`` (a KITTI timestamps.txt) match by stamp."""
        stamps = read_timestamps(timestamps) if timestamps is not None else None
        return cls(gt_folder(gt_dir, camera), bag_frame_numbers(bag), stamps)

    def frame_number(self, position: int, stamp_ns: int) -> int | None:
        """KITTI frame number of bag image ``position`` (None: no timestamps.txt line within
        :data:`STAMP_TOLERANCE_NS` of ``stamp_ns``)."""
        if self.stamps is not None:
            if self.stamps.size == 0:
                return None
            nearest = int(np.argmin(np.abs(self.stamps - np.int64(stamp_ns))))
            return nearest if abs(int(self.stamps[nearest]) - stamp_ns) <= STAMP_TOLERANCE_NS \
                else None
        if self.frame_numbers is not None and position < len(self.frame_numbers):
            return self.frame_numbers[position]
        return position

    def depth(self, position: int, stamp_ns: int,
              shape: tuple[int, int] | None = None) -> Float32Array | None:
        """(H, W) float32 metres (0 = none) of the image, or None when it has no ground truth.

        Args:
            position: the image's position in the bag (0-based).
            stamp_ns: the image's header stamp, ns.
            shape: (H, W) of the image, pixels; the PNG must have it.

        Raises:
            DataFormatError: the PNG is unreadable or not ``shape`` (another drive or camera,
                or a cropped ground truth such as ``val_selection_cropped``).
        """
        number = self.frame_number(position, stamp_ns)
        path = self.folder / f"{number:010d}.png" if number is not None else None
        if path is None or not path.is_file():
            return None
        depth = read_depth_png(path)
        if shape is not None and depth.shape != tuple(shape):
            raise DataFormatError(
                f"{path}: ground truth is {depth.shape[1]}x{depth.shape[0]} but bag image "
                f"{position} is {shape[1]}x{shape[0]} (wrong drive or camera, or a cropped "
                f"ground truth?)")
        return depth
