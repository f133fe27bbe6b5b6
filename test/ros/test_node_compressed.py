"""The node with ``image_transport: compressed``: CompressedImage (JPEG, PNG) on
``image/compressed`` serves the depth the raw-image node serves for the same frame (embedded
KITTI sample, Geiger et al., IJRR 2013, CC BY-NC-SA 3.0)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from depth_completion_ros.compressed_image import encode_rgb

pytest.importorskip("rclpy")


def _depth(msg: Any) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), np.float32).reshape(msg.height, msg.width)


def _compressed(frames: Any, index: int, stamp: float, codec: str, msgs: Any) -> Any:
    from sensor_msgs.msg import CompressedImage
    fmt, data = encode_rgb(frames.rgb[index], codec)
    return CompressedImage(header=msgs.header(stamp, "cam2"), format=fmt, data=data)


def _serve_compressed(h: Any, frames: Any, msgs: Any, codec: str, stamp: float) -> np.ndarray:
    """Publish frame 0 with its image compressed on ``image/compressed`` until depth comes."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage
    pub = h.io.create_publisher(CompressedImage, "image/compressed", qos_profile_sensor_data)
    assert h.wait_for(lambda: pub.get_subscription_count() > 0 and
                      h.io.count_subscribers("points") > 0)
    image = _compressed(frames, 0, stamp, codec, msgs)

    def send() -> None:
        h.pub["camera_info"].publish(msgs.camera_info(frames, stamp))
        h.pub["points"].publish(msgs.cloud(frames.scans[0], stamp))
        pub.publish(image)

    for _ in range(15):  # best-effort inputs: resend (same stamp) until served
        send()
        if h.wait_for(lambda: h.count("depth") > 0, 2.0):
            return _depth(h.last("depth"))
    raise AssertionError(f"no depth from the compressed node: {dict(h.received)}")


def test_compressed_images_serve_the_raw_images_depth(harness, frames, msgs) -> None:
    """PNG is lossless: the same depth. JPEG too, bit for bit: the default (classical) model
    completes from the LiDAR alone and the image only gives the size it is checked against;
    a model that reads the pixels would differ by the JPEG error (3.2 grey levels mean)."""
    raw = harness()
    assert raw.wait_ready()
    assert raw.send_until(frames, 0, 300.5, lambda: raw.count("depth") > 0)
    reference = _depth(raw.last("depth"))
    assert np.isfinite(reference).sum() > 200_000
    for codec in ("png", "jpeg"):
        h = harness(image_transport="compressed")
        assert h.node.image_topic == f"{h.node.get_namespace()}/image/compressed"
        np.testing.assert_array_equal(_serve_compressed(h, frames, msgs, codec, 300.5),
                                      reference, err_msg=codec)
        assert h.last("depth").header.stamp.sec == 300 and h.count("depth") >= 1


def test_raw_node_does_not_subscribe_to_compressed(harness) -> None:
    h = harness()
    assert h.node.image_topic == "image"
    assert h.wait_for(lambda: h.io.count_subscribers("image") > 0)
    assert h.io.count_subscribers("image/compressed") == 0


def test_image_transport_is_validated_and_read_only(harness) -> None:
    from rclpy.parameter import Parameter

    from depth_completion_ros.errors import ConfigError
    with pytest.raises(ConfigError, match="image_transport: 'theora' is not one of"):
        harness(image_transport="theora")
    h = harness()
    (result,) = h.node.set_parameters([Parameter("image_transport", value="compressed")])
    assert not result.successful and "read-only" in result.reason


def test_remapping_image_moves_the_compressed_topic(ros_context) -> None:
    """image_transport's convention: ``image:=/cam/image_raw`` -> ``/cam/image_raw/compressed``."""
    from rclpy.node import Node

    from depth_completion_ros.ros.node import image_subscription
    node = Node("remapped", context=ros_context[0], namespace="/ns",
                cli_args=["--ros-args", "-r", "image:=/cam/image_raw"])
    try:
        kind, topic = image_subscription(node, "compressed")
        assert (kind.__name__, topic) == ("CompressedImage", "/cam/image_raw/compressed")
        kind, topic = image_subscription(node, "raw")
        assert (kind.__name__, topic) == ("Image", "image")
    finally:
        node.destroy_node()
