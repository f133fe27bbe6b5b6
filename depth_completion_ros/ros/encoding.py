"""numpy -> sensor_msgs Image / PointCloud2 (the numpy fallbacks of the ROS layer's encoders).

The reverse direction, used by the node and the bag tools alike, is the core's
:mod:`depth_completion_ros.decoding`.
"""
from __future__ import annotations

import array as pyarray
from typing import Any

import numpy as np
from sensor_msgs.msg import Image, PointCloud2, PointField


def array_to_image(array: np.ndarray, header: Any, encoding: str) -> Any:
    """(H, W) or (H, W, C) array -> sensor_msgs/Image with a tight row ``step``.

    Args:
        array: float32 for ``32FC1``, uint16 for ``16UC1``, uint8 (H, W, 3) for ``bgr8`` / ``rgb8``.
        header: std_msgs/Header to stamp it with (the input image's stamp and frame_id).
        encoding: the ROS image encoding the array already is in.
    """
    array = np.ascontiguousarray(array)
    msg = Image()
    msg.header = header
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = int(array.dtype.byteorder == ">")
    msg.step = int(array.strides[0])
    msg.data = byte_array(array)
    return msg


def points_to_cloud(xyz: np.ndarray, header: Any) -> Any:
    """(N, 3) points in metres -> unorganised dense PointCloud2 with float32 x, y, z."""
    xyz = np.ascontiguousarray(xyz, dtype=np.float32).reshape(-1, 3)
    msg = PointCloud2()
    msg.header = header
    msg.height, msg.width = 1, int(xyz.shape[0])
    msg.fields = [PointField(name=axis, offset=4 * i, datatype=PointField.FLOAT32, count=1)
                  for i, axis in enumerate("xyz")]
    msg.is_bigendian = False
    msg.point_step, msg.row_step = 12, 12 * int(xyz.shape[0])
    msg.is_dense = True
    msg.data = byte_array(xyz.astype("<f4", copy=False))
    return msg


def byte_array(array: np.ndarray) -> pyarray.array:
    """A contiguous array's bytes as the ``array.array('B')`` a ROS uint8[] field stores: one
    copy (``tobytes()`` then the field's own conversion made two; 4x slower at 1920x1200)."""
    data = pyarray.array("B")
    data.frombytes(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
    return data
