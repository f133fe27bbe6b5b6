"""The live node with the camera image topic absent: only camera_info and PointCloud2 are
published, and a model that needs no image (``classical``; ``depth_only`` with a small
checkpoint made here) serves every cloud, LiDAR-driven (``trigger`` lidar, and auto once no
image came for ``image_timeout``). Without camera_info the frames are skipped and counted.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_completion_ros.decoding import camera_info_to_camera
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.depth_only import INPUT_SPEC, DepthOnlyConfig, build_network
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.ros.params import NodeSettings, check_settings

STAMPS = [3.0, 3.1, 3.2, 3.3]


def send_lidar(h, frames, msgs, index: int, stamp: float, *, info: bool = True) -> None:
    """camera_info (unless ``info`` is False) and the cloud of a frame; no image."""
    if info:
        h.pub["camera_info"].publish(msgs.camera_info(frames, stamp))
    h.pub["points"].publish(msgs.cloud(frames.scans[index % len(frames.scans)], stamp))


def stamp_of(msg) -> float:
    return round(msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec, 6)


def depth_of(msg) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), np.float32).reshape(msg.height, msg.width)


def serve_each_cloud(h, frames, msgs) -> list:
    """After a warm-up cloud (discovery may lose best-effort messages), one cloud per stamp of
    :data:`STAMPS`, each sent once and its depth awaited; returns the depth messages of them."""
    assert h.wait_ready("depth")
    for _ in range(60):  # a warm-up cloud every second until its depth comes
        send_lidar(h, frames, msgs, 0, 1.0)
        if h.wait_for(lambda: h.count("depth") > 0, 1.0):
            break
    assert h.count("depth") > 0
    start = h.count("depth")
    for i, stamp in enumerate(STAMPS):
        send_lidar(h, frames, msgs, i, stamp)
        assert h.wait_for(lambda stamp=stamp: any(stamp_of(m) == stamp
                                                  for m in h.since("depth", start)), 60.0), stamp
    return h.since("depth", start)


def expected_depth(model_name: str, config: dict, checkpoint, h, frames, msgs, index: int):
    s = h.node.settings
    model = get_model(model_name, config, checkpoint=checkpoint, device="cpu")
    camera = camera_info_to_camera(msgs.camera_info(frames, 0.0))
    return DepthPipeline(model, s.transform(), s.pipeline).process(
        None, camera, frames.scans[index][:, :3]).depth


def test_classical_serves_every_cloud_without_the_image_topic(harness, frames, msgs):
    h = harness(model="classical", trigger="lidar")
    depths = serve_each_cloud(h, frames, msgs)
    assert [stamp_of(m) for m in depths] == STAMPS  # one depth per cloud, in order
    for i, msg in enumerate(depths):
        assert msg.header.frame_id == "cam2"  # camera_info's frame: depth is in the camera
        assert (msg.width, msg.height) == (frames.width, frames.height)
        np.testing.assert_array_equal(depth_of(msg),
                                      expected_depth("classical", {}, None, h, frames, msgs, i))
    assert h.node.sync.ignored_images == 0
    assert h.wait_for(lambda: h.count("diagnostics") and
                      h.last("diagnostics")["tier"] == "completion")


@pytest.fixture
def depth_only_checkpoint(tmp_path):
    """A width-4 depth-only network with seeded random weights (no image head) and a model
    preset naming its width."""
    torch.manual_seed(0)
    net = build_network(DepthOnlyConfig(width=4)).eval()
    path = save_checkpoint(tmp_path / "depth_only_w4.pt", net, CheckpointMeta(
        model="depth_only", config={"width": 4}, input_spec=INPUT_SPEC))
    preset = tmp_path / "depth_only_w4.yaml"
    preset.write_text("model: depth_only\nconfig: {width: 4}\n")
    return path, preset


def test_depth_only_serves_every_cloud_with_trigger_auto(harness, frames, msgs,
                                                         depth_only_checkpoint):
    checkpoint, preset = depth_only_checkpoint
    h = harness(model="depth_only", checkpoint=str(checkpoint), model_config=str(preset),
                image_timeout=0.3)  # trigger auto, the default
    assert h.node.settings.sync.trigger == "auto"
    depths = serve_each_cloud(h, frames, msgs)
    assert [stamp_of(m) for m in depths] == STAMPS
    assert h.node.sync.lidar_driven()
    for i, msg in enumerate(depths):
        expected = expected_depth("depth_only", {"width": 4}, checkpoint, h, frames, msgs, i)
        np.testing.assert_allclose(depth_of(msg), expected, rtol=1e-5, atol=1e-5)
        assert np.isfinite(depth_of(msg)).sum() == np.isfinite(expected).sum() > 0


def test_without_camera_info_frames_are_skipped_and_counted(harness, frames, msgs):
    h = harness(model="classical", trigger="lidar")
    assert h.wait_ready("depth")

    def counted() -> bool:
        d = h.last("diagnostics") if h.count("diagnostics") else {}
        return int(d.get("input_errors.camera_info", 0)) >= 2
    for i in range(60):  # a cloud every half second, no camera_info
        send_lidar(h, frames, msgs, 0, 1.0 + 0.1 * i, info=False)
        if h.wait_for(counted, 0.5):
            break
    assert counted()
    assert h.count("depth") == 0
    assert "camera_info" in h.last("diagnostics")["last_error"]
    assert "no image" in h.last("diagnostics")["last_error"]


@pytest.mark.parametrize("model, reason", [("classical", None), ("depth_only", None),
                                           ("cspn", "needs one")])
def test_trigger_lidar_only_with_a_model_that_needs_no_image(model, reason):
    settings = NodeSettings.from_mapping({"model": model, "trigger": "lidar",
                                          "lidar_to_camera": list(np.eye(4).ravel())})
    got = check_settings(settings, [model])
    assert got is None if reason is None else reason in (got or "")
