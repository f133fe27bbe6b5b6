"""``use_rectified: false``: the node projects with camera_info K + D (raw image) on the sample.

KITTI data (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
"""
from __future__ import annotations

import cv2
import numpy as np
from rclpy.parameter import Parameter

D_RAW = [-0.1, 0.02, 0.001, -0.001, 0.0]  # plumb_bob k1, k2, p1, p2, k3


def _frame(h, frames, msgs, stamp, info=None):
    """Send frame 0 at ``stamp``; returns its (depth, sparse_depth) as (375, 1242) float32."""
    sec = int(stamp)
    topics = ("depth", "sparse_depth")
    assert h.send_until(frames, 0, stamp, lambda: all(
        h.count(t) and h.last(t).header.stamp.sec == sec for t in topics), info=info), \
        dict(h.node.stats.errors)
    return tuple(np.frombuffer(bytes(h.last(t).data), np.float32).reshape(375, 1242)
                 for t in topics)


def _expected_raw_sparse(frames, transform, K, D, max_depth):
    """Nearest point per pixel where cv2.projectPoints puts it (u = floor(x), v = floor(y))."""
    xyz = frames.scans[0][:, :3].astype(np.float64)
    cam = xyz @ transform[:3, :3].T + transform[:3, 3]
    cam = cam[(cam[:, 2] > 0.1) & (cam[:, 2] <= max_depth)]
    cam = cam[np.abs(cam[:, 0] / cam[:, 2]) < 1.0]  # the wide-angle tail that k1 folds back
    uv, _ = cv2.projectPoints(cam, np.zeros(3), np.zeros(3), K, np.asarray(D))
    u, v = np.floor(uv[:, 0, 0]).astype(int), np.floor(uv[:, 0, 1]).astype(int)
    inside = (u >= 0) & (u < 1242) & (v >= 0) & (v < 375)
    out = np.full((375, 1242), np.inf)
    np.minimum.at(out, (v[inside], u[inside]), cam[inside, 2])
    out[np.isinf(out)] = 0
    return out.astype(np.float32)


def test_raw_path_with_zero_distortion_equals_the_rectified_path(harness, frames, msgs):
    h = harness()
    assert h.wait_ready("sparse_depth")
    rect_depth, rect_sparse = _frame(h, frames, msgs, 2.0)
    assert h.node.set_parameters([Parameter("use_rectified", value=False)])[0].successful
    raw_depth, raw_sparse = _frame(h, frames, msgs, 3.0)
    assert np.count_nonzero(rect_sparse) > 14_000
    np.testing.assert_allclose(raw_sparse, rect_sparse, atol=1e-4)
    np.testing.assert_allclose(raw_depth, rect_depth, atol=1e-3)  # NaN at the same pixels


def test_raw_path_puts_depth_where_opencv_projects_the_points(harness, frames, msgs):
    h = harness(use_rectified=False)
    assert h.wait_ready("sparse_depth")
    info = msgs.camera_info(frames, 4.0)
    info.d = D_RAW
    _, sparse = _frame(h, frames, msgs, 4.0, info=info)
    expected = _expected_raw_sparse(frames, h.node.settings.transform(), frames.K, D_RAW,
                                    h.node.settings.pipeline.max_depth)
    _, undistorted = _frame(h, frames, msgs, 5.0)  # same node, D = 0 again
    hit = expected > 0
    assert hit.sum() > 14_000
    assert np.mean(np.abs(sparse[hit] - expected[hit]) < 1e-3) > 0.995
    assert np.mean((sparse > 0) == hit) > 0.999
    assert np.mean((undistorted > 0) == hit) < 0.99  # the distortion moved the points
