"""The node on the embedded KITTI sample (CC BY-NC-SA 3.0): outputs, encodings, stamps, values."""
from __future__ import annotations

import numpy as np

from depth_completion_ros.geometry.projection import project_to_depth


def _array(msg, dtype):
    return np.frombuffer(msg.data, dtype).reshape(msg.height, msg.width)


def test_outputs_match_the_input_frame(harness, frames):
    h = harness(publish_depth_mm=True, publish_points_dense=True)
    topics = ("depth", "confidence", "depth/camera_info", "depth_mm", "sparse_depth",
              "depth_color", "points_dense")
    assert h.wait_ready("depth_color", "sparse_depth")
    assert h.send_until(frames, 0, 100.25, lambda: all(h.count(t) for t in topics)), \
        dict(h.received)
    depth, conf, sparse = h.last("depth"), h.last("confidence"), h.last("sparse_depth")
    for msg, enc in ((depth, "32FC1"), (conf, "32FC1"), (sparse, "32FC1"),
                     (h.last("depth_mm"), "16UC1"), (h.last("depth_color"), "bgr8")):
        assert (msg.encoding, msg.width, msg.height) == (enc, 1242, 375)
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (100, 250_000_000)
        assert msg.header.frame_id == "cam2"
    assert h.last("depth/camera_info").header.stamp.sec == 100
    d, c, s = _array(depth, np.float32), _array(conf, np.float32), _array(sparse, np.float32)
    # The node's sparse depth equals the KITTI-convention projection (P2 with its baseline).
    calib = frames.kitti_calib
    expected = project_to_depth(frames.scans[0], calib.lidar_to_camera(),
                                calib.camera(2, 1242, 375), min_depth=0.1)
    expected[expected > 80.0] = 0
    assert np.mean(np.abs(s - expected) < 1e-3) > 0.999
    hit = s > 0
    assert hit.sum() > 14_000
    assert np.nanmedian(np.abs(d[hit] - s[hit])) < 0.05  # completion keeps the measurements
    assert not c[np.isnan(d)].any()  # no estimate, no confidence
    assert np.isfinite(d).mean() > 0.5  # dense: the classical model fills most of the image
    assert 0.0 <= c.min() and c.max() <= 1.0
    mm = _array(h.last("depth_mm"), np.uint16)
    np.testing.assert_allclose(mm[hit], np.clip(np.rint(d[hit] * 1000), 0, 65535), atol=1)
    assert h.last("points_dense").width == np.isfinite(d).sum()
