"""Bad input never stops the node: each bad message is counted and skipped, the next frame
served."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from depth_completion_ros.ros.encoding import array_to_image


def _served_after(h, frames, stamp, kind, **bad):
    """Send a bad frame at ``stamp`` until it is counted as a ``kind`` error, then a valid one at
    ``stamp + 1``; True if the valid one is published (its stamp shows up on ``depth``)."""
    before = h.node.stats.errors[kind]
    if not h.send_until(frames, 0, stamp, lambda: h.node.stats.errors[kind] > before, **bad):
        return False
    return h.send_until(frames, 1, stamp + 1.0, lambda: h.count("depth") and
                        h.last("depth").header.stamp.sec == int(stamp + 1.0))


def test_each_bad_input_is_counted_and_the_next_frame_served(harness, frames, msgs):
    h = harness()
    assert h.wait_ready()
    hdr = msgs.header
    bad_cases = {
        "image": [  # unsupported encoding, then an image smaller than camera_info says
            {"image": array_to_image(np.zeros((375, 1242), np.uint16), hdr(10, "cam2"), "16UC1")},
            {"image": array_to_image(frames.rgb[0][:, :600], hdr(20, "cam2"), "rgb8")}],
        "points": [  # no z, truncated data, an empty cloud, all points NaN
            {"points": _cloud_without_z(frames, msgs, 30)},
            {"points": _truncated_cloud(frames, msgs, 40)},
            {"points": msgs.cloud(np.zeros((0, 4), np.float32), 50)},
            {"points": msgs.cloud(np.full((10, 4), np.nan, np.float32), 60)}],
        "camera_info": [{"info": _zero_k_info(frames, msgs, 70)}],
    }
    stamp = {"image": 10, "points": 30, "camera_info": 70}
    for kind, cases in bad_cases.items():
        for i, case in enumerate(cases):
            assert _served_after(h, frames, stamp[kind] + 10 * i, kind, **case), \
                (kind, i, dict(h.node.stats.errors))


def test_nan_points_are_dropped_and_the_frame_served(harness, frames, msgs):
    h = harness()
    assert h.wait_ready()
    scan = frames.scans[0].copy()
    scan[::3, :3] = np.nan
    scan[1::3, 0] = np.inf
    assert h.wait_ready("sparse_depth")
    assert h.send_until(frames, 0, 5.0, lambda: h.count("sparse_depth") > 0,
                        points=msgs.cloud(scan, 5.0))
    sparse = np.frombuffer(h.last("sparse_depth").data, np.float32)
    assert 3_000 < np.count_nonzero(sparse) < 8_000  # a third of the ~16k pixels remain
    assert not h.node.stats.errors


def test_stamps_going_backwards_reset_and_serving_goes_on(harness, frames, msgs):
    h = harness()
    assert h.wait_ready()
    assert h.send_until(frames, 0, 50.0, lambda: h.count("depth") >= 1)
    assert h.send_until(frames, 1, 3.0, lambda: h.last("depth").header.stamp.sec == 3)  # looped
    assert h.last("depth").header.stamp.sec == 3
    assert h.node.stats.errors["stamps_backwards"] >= 1
    assert h.node.sync.resets >= 1


def test_missing_camera_info_is_reported_until_it_arrives(harness, frames, msgs):
    h = harness()
    assert h.wait_ready()
    missing = lambda: h.node.stats.errors["camera_info"] >= 1  # noqa: E731
    for stamp in np.arange(1.0, 16.0):  # resent: best-effort input may be lost at first
        h.pub["points"].publish(msgs.cloud(frames.scans[0], stamp))
        h.pub["image"].publish(array_to_image(frames.rgb[0], msgs.header(stamp, "cam2"), "rgb8"))
        if h.wait_for(missing, 2.0):
            break
    assert missing()
    assert h.count("depth") == 0
    assert h.send_until(frames, 1, 20.0, lambda: h.count("depth") >= 1)
    reported = h.node.stats.errors["camera_info"]
    assert h.wait_for(lambda: h.count("diagnostics") and
                      h.last("diagnostics").get("input_errors.camera_info") == str(reported))


def test_a_first_camera_info_handled_after_its_cloud_still_serves_the_frame(harness, frames,
                                                                              msgs):
    """A driver publishes the first image, its camera_info and its cloud at one instant; the
    callbacks of different subscriptions run in no fixed order, so the cloud may release the frame
    before camera_info's callback ran. The worker waits (up to max_wait) for that first
    camera_info instead of skipping the frame (a rare lost first frame of the live evaluation).
    The callbacks are called directly here: the order is the test's, not the transport's."""
    import threading
    h = harness()
    assert h.wait_ready("depth")
    h.node._on_points(msgs.cloud(frames.scans[0], 5.0))
    h.node._on_image(array_to_image(frames.rgb[0], msgs.header(5.0, "cam2"), "rgb8"))
    late = threading.Timer(0.05, h.node._on_camera_info, args=(msgs.camera_info(frames, 5.0),))
    late.start()
    late.join()
    assert h.wait_for(lambda: h.count("depth") >= 1), dict(h.node.stats.errors)
    assert h.last("depth").header.stamp.sec == 5
    assert h.node.stats.errors["camera_info"] == 0


def _cloud_without_z(frames, msgs, stamp):
    msg = msgs.cloud(frames.scans[0], stamp)
    msg.fields = [f for f in msg.fields if f.name != "z"]
    return msg


def _truncated_cloud(frames, msgs, stamp):
    msg = msgs.cloud(frames.scans[0], stamp)
    msg.data = bytes(msg.data)[: len(msg.data) // 2]
    return msg


def _zero_k_info(frames, msgs, stamp):
    msg = msgs.camera_info(frames, stamp)
    msg.k = [0.0] * 9
    return msg



def test_without_tf2_the_node_refuses_to_start_without_lidar_to_camera(ros_context,
                                                                       monkeypatch):
    from depth_completion_ros.errors import ConfigError
    from depth_completion_ros.ros import compat
    from depth_completion_ros.ros.node import DepthCompletionNode
    monkeypatch.setattr(compat, "tf2_ros", None)
    with pytest.raises(ConfigError, match="lidar_to_camera: unset, and tf2_ros is not importable"):
        DepthCompletionNode(context=ros_context[0], namespace="/no_extrinsic")


def test_with_tf2_the_node_starts_without_lidar_to_camera(ros_context, monkeypatch):
    from depth_completion_ros.ros import compat
    from depth_completion_ros.ros.node import DepthCompletionNode
    monkeypatch.setattr(compat, "tf2_ros", FakeTf2())
    node = DepthCompletionNode(context=ros_context[0], namespace="/tf2_extrinsic")
    try:
        assert node.settings.transform() is None and node._tf_lookup is not None
    finally:
        node.destroy_node()


class FakeTf2:
    """A ``tf2_ros`` module whose Buffer knows no transform (lookups raise)."""

    def __init__(self) -> None:
        self.listeners = 0

    def Buffer(self):  # noqa: N802 (tf2_ros API name)
        def lookup_transform(*args):
            raise LookupError("no transform")
        return SimpleNamespace(lookup_transform=lookup_transform)

    def TransformListener(self, buffer, node):  # noqa: N802 (tf2_ros API name)
        self.listeners += 1
        return SimpleNamespace(buffer=buffer, node=node)


def test_invalid_start_parameters_exit_with_the_reason():
    import os
    import subprocess
    import sys
    code = ("import sys; from depth_completion_ros.ros.node import main; "
            "sys.exit(main(['n', '--ros-args', '-p', 'model:=bogus']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))
    assert proc.returncode == 1
    assert "unknown model 'bogus'; registered models: classical" in proc.stderr


@pytest.mark.parametrize("override, reason", [
    ("dropout_model:=nearest", "dropout_model: 'nearest' cannot run without LiDAR"),
    ("lidar_to_camera:=[]", "lidar_to_camera: unset, and tf2_ros is not importable"),
    ("min_depth:=50.0", "node parameters: min_depth:"),
    ("slop:=abc", "node parameters: slop:"),
])
def test_start_parameters_that_cannot_serve_exit_with_the_reason(override, reason):
    import os
    import subprocess
    import sys
    code = ("import sys; from depth_completion_ros.ros.node import main; "
            f"sys.exit(main(['n', '--ros-args', '-p', '{override}']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))
    assert proc.returncode == 1, proc.stderr
    assert reason in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_lidar_to_camera_unset_at_run_time_creates_the_tf2_lookup_then(harness, monkeypatch):
    from rclpy.parameter import Parameter

    from depth_completion_ros.ros import compat
    h = harness()  # started with the KITTI transform: no lookup yet
    assert h.node._tf_lookup is None
    tf2 = FakeTf2()
    monkeypatch.setattr(compat, "tf2_ros", tf2)
    (result,) = h.node.set_parameters([Parameter("lidar_to_camera",
                                                 Parameter.Type.DOUBLE_ARRAY, [])])
    assert result.successful, result.reason
    assert h.node.settings.transform() is None
    assert h.node._tf_lookup is not None and tf2.listeners == 1
    monkeypatch.setattr(compat, "tf2_ros", None)  # and where tf2 is missing: refused, kept
    h.node.set_parameters([Parameter("lidar_to_camera", value=list(np.eye(4).reshape(-1)))])
    (result,) = h.node.set_parameters([Parameter("lidar_to_camera",
                                                 Parameter.Type.DOUBLE_ARRAY, [])])
    assert not result.successful
    assert result.reason.startswith("lidar_to_camera: unset, and tf2_ros is not importable")
    assert h.node.settings.transform() is not None


def test_an_unexpected_exception_in_a_callback_is_counted_internal_and_serving_goes_on(
        harness, frames, msgs, monkeypatch):
    from depth_completion_ros.ros import compat
    h = harness()
    assert h.wait_ready()
    real = compat.decode_cloud
    calls = {"n": 0}

    def broken_once(msg):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("name already used as a name or title")  # numpy's, from HEAD
        return real(msg)
    monkeypatch.setattr(compat, "decode_cloud", broken_once)
    assert h.send_until(frames, 0, 7.0, lambda: h.node.stats.errors["internal"] == 1)
    assert h.node.stats.errors["points"] == 1
    assert h.send_until(frames, 1, 8.0, lambda: h.count("depth") and
                        h.last("depth").header.stamp.sec == 8)
    assert h.spinner._thread.is_alive()
