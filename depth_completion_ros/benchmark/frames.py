"""KITTI frames at any image size, as the node receives them (Image, CameraInfo, PointCloud2).

A size other than the drive's own is made from it: ``1216x352`` is KITTI's bottom-centre crop
(the devkit's), any other size scales the rectified camera (``K`` by ``(sx, sy)``) and resizes
the image (bilinear), so the same scan lands in a larger image with the same field of view:
fewer LiDAR pixels per image pixel, which is how a higher-resolution camera sees the same
LiDAR. The messages are rosbags messages (:mod:`depth_completion_ros.bag.messages`): rgb8
image, rectified CameraInfo with ``P = [K | 0]``, and the transform that goes with it
(:func:`~depth_completion_ros.bag.convert.ros_lidar_to_camera`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, Float64Array
from depth_completion_ros.bag.convert import ros_lidar_to_camera
from depth_completion_ros.bag.messages import point_cloud, rectified_camera_info, rgb_image
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_raw import open_sequence

#: sizes of issue 13: KITTI's crop, a KITTI frame, two automotive cameras (width, height)
SIZES = ((1216, 352), (1242, 375), (1920, 1200), (1936, 1216))


@dataclass(frozen=True)
class FrameMessages:
    """One frame as messages, and the node's calibration for it.

    Attributes:
        image, camera_info, cloud: rosbags sensor_msgs messages.
        lidar_to_camera: (4, 4) LiDAR -> camera optical frame for ``P = [K | 0]``.
        points: LiDAR points in the cloud (N).
    """

    image: Any
    camera_info: Any
    cloud: Any
    lidar_to_camera: Float64Array
    points: int


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1200"`` -> (1920, 1200).

    Raises:
        InputError: not ``WIDTHxHEIGHT`` with positive integers.
    """
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as err:
        raise InputError(f"image size must be WIDTHxHEIGHT, got {text!r}") from err
    if width <= 0 or height <= 0:
        raise InputError(f"image size must be positive, got {text!r}")
    return width, height


def sized_frames(root: str | Path, size: tuple[int, int], limit: int | None = None
                 ) -> list[FrameMessages]:
    """The first ``limit`` frames of a KITTI raw drive at ``size`` (width, height), as messages.

    Raises:
        InputError: ``size`` is 1216x352 but the drive's images are smaller.
    """
    out = []
    for position, frame in enumerate(itertools.islice(open_sequence(root), limit)):
        height, width = frame.image.shape[:2]
        K = frame.calibration.camera(2, width, height).intrinsics()
        rgb: Array = frame.image
        if size == (width, height):
            pass
        elif size == (KITTI_CROP.width, KITTI_CROP.height):
            x0, y0, w, h = KITTI_CROP.box(height, width)
            rgb = np.ascontiguousarray(rgb[y0:y0 + h, x0:x0 + w])
            K = K.copy()
            K[0, 2] -= x0
            K[1, 2] -= y0
        else:
            sx, sy = size[0] / width, size[1] / height
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
            K = np.diag([sx, sy, 1.0]) @ K
        stamp = 1_000_000_000 + position * 100_000_000
        points = np.asarray(frame.points, np.float32)
        out.append(FrameMessages(
            rgb_image(rgb, stamp, "camera"),
            rectified_camera_info(size[0], size[1], K, stamp, "camera"),
            point_cloud(points, estimate_rings(points), stamp, "velodyne"),
            ros_lidar_to_camera(frame.calibration), len(points)))
    return out
