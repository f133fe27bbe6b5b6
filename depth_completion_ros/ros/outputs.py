"""The node's output topics: one publisher each, and a FrameResult -> messages step.

Every message carries the input image's header (stamp and frame_id). ``depth_color`` and
``sparse_depth`` are computed only while someone subscribes. Messages are built through
:mod:`depth_completion_ros.ros.compat` (cv_bridge / sensor_msgs_py when importable, numpy else).
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from depth_completion_ros.decoding import depth_to_mm
from depth_completion_ros.geometry.projection import unproject_depth
from depth_completion_ros.pipeline import FrameResult
from depth_completion_ros.ros import compat
from depth_completion_ros.ros.params import NodeSettings
from depth_completion_ros.viz import colorize_depth


class OutputPublishers:
    """Publishers of ``depth``, ``depth/camera_info``, ``confidence``, ``depth_mm``,
    ``sparse_depth``, ``depth_color`` and ``points_dense`` (relative names, remappable)."""

    def __init__(self, node: Node, qos: QoSProfile) -> None:
        self.depth = node.create_publisher(Image, "depth", qos)
        self.info = node.create_publisher(CameraInfo, "depth/camera_info", qos)
        self.confidence = node.create_publisher(Image, "confidence", qos)
        self.depth_mm = node.create_publisher(Image, "depth_mm", qos)
        self.sparse = node.create_publisher(Image, "sparse_depth", qos)
        self.color = node.create_publisher(Image, "depth_color", qos)
        self.points = node.create_publisher(PointCloud2, "points_dense", qos)

    def publish(self, result: FrameResult, header: Any, camera_info: Any, K: np.ndarray,
                settings: NodeSettings) -> None:
        """Publish one frame's outputs according to the ``publish_*`` switches.

        Args:
            result: the pipeline's output.
            header: the input image's std_msgs/Header.
            camera_info: the CameraInfo the frame was processed with (re-stamped, re-published).
            K: (3, 3) intrinsics used, for ``points_dense``.
            settings: current switches and colour range.
        """
        self.depth.publish(_float_image(result.depth, header))
        self.confidence.publish(_float_image(result.confidence, header))
        info = copy.copy(camera_info)
        info.header = header
        self.info.publish(info)
        if settings.publish_depth_mm:
            self.depth_mm.publish(compat.encode_image(depth_to_mm(result.depth), header, "16UC1"))
        if settings.publish_sparse_depth and self.sparse.get_subscription_count() > 0:
            self.sparse.publish(_float_image(result.sparse_depth, header))
        if settings.publish_depth_color and self.color.get_subscription_count() > 0:
            bgr = colorize_depth(result.depth, settings.color_min_depth, settings.color_max_depth)
            self.color.publish(compat.encode_image(bgr, header, "bgr8"))
        if settings.publish_points_dense:
            xyz = unproject_depth(result.depth, K).reshape(-1, 3)
            self.points.publish(compat.encode_cloud(xyz[np.isfinite(xyz).all(axis=1)], header))


def _float_image(array: np.ndarray, header: Any) -> Any:
    """(H, W) float array (metres or 0..1) -> 32FC1 Image."""
    return compat.encode_image(array.astype(np.float32, copy=False), header, "32FC1")
