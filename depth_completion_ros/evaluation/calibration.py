"""The LiDAR -> camera transform an evaluation uses: given, from a KITTI calibration, or the
bag's tf.

The pipeline projects with the camera info's ``P``. KITTI's ``P_rect`` carries the camera's offset
from camera 0 (``P = [K | K t]``) while ROS camera infos usually have ``P = [K | 0]`` with that
offset in the transform: for a KITTI calibration file the convention is taken from the bag's
first camera info (``P[:, 3]`` zero or not), so both kinds of bag project correctly.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from depth_completion_ros.arrays import Float64Array
from depth_completion_ros.bag.convert import ros_lidar_to_camera
from depth_completion_ros.bag.reading import first_message, lidar_to_camera_from_tf
from depth_completion_ros.bag.topics import BagTopics
from depth_completion_ros.checks import check_rigid_transform
from depth_completion_ros.io.kitti_calib import read_object_calib, read_raw_calib


def resolve_lidar_to_camera(bag: str | Path, topics: BagTopics, *,
                            matrix: Sequence[float] | None = None,
                            calib: str | Path | None = None, camera: int = 2) -> Float64Array:
    """(4, 4) LiDAR -> camera: ``matrix`` (16 numbers, row-major), else ``calib`` (an object
    ``calib.txt`` or a raw date folder), else the bag's ``/tf_static`` between the clouds' and the
    images' frame ids.

    Raises:
        InputError: ``matrix`` is not a rigid transform (16 numbers, last row 0 0 0 1, a
            rotation). CalibrationError: no way to find the transform.
    """
    if matrix is not None:
        return check_rigid_transform(matrix, "--lidar-to-camera")
    if calib is not None:
        path = Path(calib)
        calibration = read_raw_calib(path) if path.is_dir() else read_object_calib(path)
        info = first_message(bag, topics.camera_info)
        if np.allclose(np.asarray(info.p, dtype=np.float64).reshape(3, 4)[:, 3], 0.0):
            return ros_lidar_to_camera(calibration, camera)
        return calibration.lidar_to_camera()
    image_frame = first_message(bag, topics.image).header.frame_id
    cloud_frame = first_message(bag, topics.points).header.frame_id
    return lidar_to_camera_from_tf(bag, cloud_frame, image_frame, topics.tf_static)
