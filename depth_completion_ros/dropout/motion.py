"""Motion compensation of a stale scan: its points moved into the LiDAR pose of a later image.

Poses are the odometry's: a (4, 4) rigid transform mapping points of the moving frame at one
time into the fixed ``odom`` frame (``nav_msgs/Odometry``: the pose of ``child_frame_id`` in
``header.frame_id``). A scan taken at pose ``P_then`` is seen from pose ``P_now`` as
``inv(P_now) @ P_then @ p``. When the odometry tracks a body frame other than the LiDAR,
``lidar_to_body`` (LiDAR points -> body frame) gives the LiDAR's pose ``P_body @ lidar_to_body``.

Example:
    >>> then, now = np.eye(4), np.eye(4)
    >>> now[0, 3] = 2.0  # the LiDAR moved 2 m forward along its x axis
    >>> compensate(np.array([[10.0, 0.0, 0.0]], np.float32), then, now)[0].tolist()
    [8.0, 0.0, 0.0]
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from depth_completion_ros import message_fields as fields
from depth_completion_ros.arrays import Array, Float32Array, Float64Array
from depth_completion_ros.checks import check_points, check_rigid_transform
from depth_completion_ros.decoding import check_header
from depth_completion_ros.errors import InputError


def compensate(points: Array, pose_then: Array, pose_now: Array) -> Float32Array:
    """Points of a scan taken at ``pose_then``, expressed in the LiDAR frame at ``pose_now``.

    Args:
        points: (N, >=3) metres in the LiDAR frame at the scan's time (extra columns such as
            intensity are kept).
        pose_then: (4, 4) LiDAR pose at the scan's stamp (LiDAR -> odom).
        pose_now: (4, 4) LiDAR pose at the image's stamp.

    Returns:
        (N, C) float32, the same columns, x y z moved.
    """
    check_points(points)
    pts = np.asarray(points)
    motion = np.linalg.inv(check_rigid_transform(pose_now, "pose_now")) @ \
        check_rigid_transform(pose_then, "pose_then")
    out = np.array(pts, dtype=np.float32)
    xyz = pts[:, :3].astype(np.float64) @ motion[:3, :3].T + motion[:3, 3]
    out[:, :3] = xyz.astype(np.float32)
    return out


def quaternion_matrix(q: Sequence[float]) -> Float64Array:
    """(3, 3) rotation of a quaternion (x, y, z, w), normalised first (ROS order).

    Raises:
        InputError: a zero or non-finite quaternion.
    """
    x, y, z, w = (float(v) for v in q)
    norm = np.sqrt(x * x + y * y + z * z + w * w)
    if not np.isfinite(norm) or norm < 1e-9:
        raise InputError(f"orientation: expected a non-zero finite quaternion, got {list(q)}")
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def slerp(q0: Float64Array, q1: Float64Array, t: float) -> Float64Array:
    """Spherical interpolation of unit quaternions (x, y, z, w), ``t`` in [0, 1]."""
    dot = float(np.dot(q0, q1))
    if dot < 0.0:  # the shorter way round
        q1, dot = -q1, -dot
    if dot > 0.9995:
        q = q0 + t * (q1 - q0)
        return np.asarray(q / np.linalg.norm(q), np.float64)
    theta = np.arccos(dot)
    return np.asarray((np.sin((1 - t) * theta) * q0 + np.sin(t * theta) * q1) / np.sin(theta),
                      np.float64)


@dataclass(frozen=True)
class Pose:
    """An odometry pose: translation (metres) and orientation quaternion (x, y, z, w)."""

    translation: tuple[float, float, float]
    rotation: tuple[float, float, float, float]

    def matrix(self) -> Float64Array:
        """(4, 4) moving frame -> odom."""
        m = np.eye(4)
        m[:3, :3] = quaternion_matrix(self.rotation)
        m[:3, 3] = self.translation
        return m


class PoseHistory:
    """Odometry poses by stamp, interpolated (translation linear, rotation slerp).

    Args:
        capacity: poses kept (oldest dropped); 1000 is 10 s of 100 Hz odometry.
        max_extrapolation: seconds beyond the first / last pose for which the end pose is used;
            farther, :meth:`pose_at` returns None.
        lidar_to_body: (4, 4) LiDAR -> the odometry's moving frame, None = identity.
    """

    def __init__(self, capacity: int = 1000, max_extrapolation: float = 0.1,
                 lidar_to_body: Array | None = None) -> None:
        self._stamps: list[float] = []
        self._poses: list[tuple[Float64Array, Float64Array]] = []
        self._capacity = capacity
        self._max_extrapolation = max_extrapolation
        self._lidar_to_body = None if lidar_to_body is None else \
            check_rigid_transform(lidar_to_body, "lidar_to_body")

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, stamp: float, pose: Pose) -> None:
        """Store a pose at ``stamp`` seconds; a stamp older than the newest clears the history
        (a looping bag)."""
        if self._stamps and stamp < self._stamps[-1]:
            self.clear()
        rotation = np.asarray(pose.rotation, np.float64)
        quaternion_matrix(pose.rotation)  # check it
        self._stamps.append(stamp)
        self._poses.append((np.asarray(pose.translation, np.float64),
                            rotation / np.linalg.norm(rotation)))
        if len(self._stamps) > self._capacity:
            del self._stamps[0], self._poses[0]

    def clear(self) -> None:
        """Forget every pose."""
        self._stamps.clear()
        self._poses.clear()

    def pose_at(self, stamp: float) -> Float64Array | None:
        """(4, 4) LiDAR -> odom at ``stamp`` seconds, or None when the history does not cover it."""
        if not self._stamps or stamp < self._stamps[0] - self._max_extrapolation or \
                stamp > self._stamps[-1] + self._max_extrapolation:
            return None
        i = bisect.bisect_left(self._stamps, stamp)
        if i == 0 or i == len(self._stamps):
            t, q = self._poses[0 if i == 0 else -1]
        else:
            s0, s1 = self._stamps[i - 1], self._stamps[i]
            f = 0.0 if s1 == s0 else (stamp - s0) / (s1 - s0)
            (t0, q0), (t1, q1) = self._poses[i - 1], self._poses[i]
            t, q = t0 + f * (t1 - t0), slerp(q0, q1, f)
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = quaternion_matrix(tuple(q)), t
        return m if self._lidar_to_body is None else m @ self._lidar_to_body

    def compensate(self, points: Array, scan_stamp: float, image_stamp: float
                   ) -> Float32Array | None:
        """``points`` of the scan at ``scan_stamp`` moved into the LiDAR pose at
        ``image_stamp``; None when the history covers either stamp not."""
        then, now = self.pose_at(scan_stamp), self.pose_at(image_stamp)
        if then is None or now is None:
            return None
        return compensate(points, then, now)


def odometry_pose(msg: Any) -> tuple[float, Pose]:
    """(stamp in seconds, pose) of a ``nav_msgs/Odometry`` (duck-typed: rclpy or rosbags).

    Raises:
        InputError: a bad header, a pose field missing or not finite, a zero quaternion.
    """
    stamp, _ = check_header(msg, "Odometry")
    pose = fields.get(fields.get(msg, "pose", "Odometry"), "pose", "Odometry.pose")
    position = fields.get(pose, "position", "Odometry.pose.pose")
    orientation = fields.get(pose, "orientation", "Odometry.pose.pose")
    t = tuple(float(fields.get(position, k, "Odometry.pose.pose.position")) for k in "xyz")
    q = tuple(float(fields.get(orientation, k, "Odometry.pose.pose.orientation"))
              for k in "xyzw")
    if not np.all(np.isfinite(t + q)):
        raise InputError(f"Odometry.pose.pose: expected finite numbers, got {t} {q}")
    quaternion_matrix(q)
    return stamp, Pose((t[0], t[1], t[2]), (q[0], q[1], q[2], q[3]))
