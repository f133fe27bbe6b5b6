"""Motion compensation of a stale scan: hand-computed poses, interpolation, round trips."""
from __future__ import annotations

import math

import numpy as np
import pytest

from depth_completion_ros.dropout.motion import (
    Pose,
    PoseHistory,
    compensate,
    quaternion_matrix,
    slerp,
)
from depth_completion_ros.errors import InputError


def yaw(angle: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2))


def test_forward_motion_brings_points_nearer():
    now = Pose((2.0, 0.0, 0.0), yaw(0.0)).matrix()
    pts = np.array([[10.0, 1.0, -1.0, 0.5]], np.float32)
    out = compensate(pts, np.eye(4), now)
    np.testing.assert_allclose(out, [[8.0, 1.0, -1.0, 0.5]], atol=1e-6)  # intensity kept


def test_yaw_rotates_points_the_other_way():
    now = Pose((0.0, 0.0, 0.0), yaw(math.pi / 2)).matrix()  # turned left 90 degrees
    out = compensate(np.array([[10.0, 0.0, 0.0]], np.float32), np.eye(4), now)
    np.testing.assert_allclose(out, [[0.0, -10.0, 0.0]], atol=1e-5)


def test_round_trip_returns_the_points():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(50, 3)).astype(np.float32) * 20
    a = Pose((1.0, -2.0, 0.3), (0.1, 0.2, 0.3, 0.9)).matrix()
    b = Pose((5.0, 1.0, 0.0), yaw(0.4)).matrix()
    np.testing.assert_allclose(compensate(compensate(pts, a, b), b, a), pts, atol=1e-4)


def test_quaternion_checks_and_normalises():
    np.testing.assert_allclose(quaternion_matrix((0, 0, 0, 2.0)), np.eye(3))
    with pytest.raises(InputError, match="quaternion"):
        quaternion_matrix((0, 0, 0, 0))


def test_slerp_halfway_is_half_the_angle():
    q = slerp(np.array(yaw(0.0)), np.array(yaw(1.0)), 0.5)
    np.testing.assert_allclose(q, yaw(0.5), atol=1e-9)


def test_history_interpolates_and_refuses_uncovered_stamps():
    history = PoseHistory(max_extrapolation=0.1)
    history.add(10.0, Pose((0.0, 0.0, 0.0), yaw(0.0)))
    history.add(11.0, Pose((10.0, 0.0, 0.0), yaw(0.2)))
    mid = history.pose_at(10.25)
    np.testing.assert_allclose(mid[:3, 3], [2.5, 0, 0])
    np.testing.assert_allclose(mid[:3, :3], quaternion_matrix(yaw(0.05)), atol=1e-9)
    np.testing.assert_allclose(history.pose_at(11.05)[:3, 3], [10, 0, 0])  # end pose held
    assert history.pose_at(11.2) is None and history.pose_at(9.8) is None
    # 10 m/s forward: a point 20 m ahead at 10.0 s is 15 m ahead at 10.5 s (yaw 0.1 rad)
    moved = history.compensate(np.array([[20.0, 0.0, 0.0]], np.float32), 10.0, 10.5)
    expected = quaternion_matrix(yaw(0.1)).T @ np.array([15.0, 0.0, 0.0])
    np.testing.assert_allclose(moved[0], expected, atol=1e-4)
    assert history.compensate(np.zeros((1, 3), np.float32), 9.0, 10.5) is None


def test_history_with_lidar_offset_and_loop_reset():
    # LiDAR 1 m ahead of the body: a pure body yaw of 90 degrees moves the LiDAR too
    offset = np.eye(4)
    offset[0, 3] = 1.0
    history = PoseHistory(lidar_to_body=offset)
    history.add(0.0, Pose((0.0, 0.0, 0.0), yaw(0.0)))
    history.add(1.0, Pose((0.0, 0.0, 0.0), yaw(math.pi / 2)))
    np.testing.assert_allclose(history.pose_at(1.0)[:3, 3], [0.0, 1.0, 0.0], atol=1e-9)
    history.add(0.5, Pose((0.0, 0.0, 0.0), yaw(0.0)))  # stamps went backwards
    assert len(history) == 1
