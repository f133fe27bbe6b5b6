"""Camera-sized images cross processes with the shipped Fast DDS profile (sensor-data QoS)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from depth_completion_ros.paths import REPO_ROOT


def test_1242x375_rgb8_at_10hz_arrive_from_another_process(ros_context):
    context, executor = ros_context
    from rclpy.node import Node
    node = Node("transport_sub", context=context)
    got: dict[str, tuple[int, int, int]] = {}
    lock = threading.Lock()

    def store(msg: Image) -> None:
        with lock:
            got[msg.header.frame_id] = (msg.width, msg.height, len(msg.data))
    node.create_subscription(Image, "bench_image", store, qos_profile_sensor_data)
    executor.add_node(node)
    try:
        env = dict(os.environ)  # the ros_context fixture set the domain and the SHM profile
        assert env["FASTDDS_DEFAULT_PROFILES_FILE"].endswith("fastdds_shm.xml")
        subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "bench_transport.py"),
                        "--role", "pub", "--frames", "20"], env=env, timeout=60, check=True)
    finally:
        executor.remove_node(node)
        node.destroy_node()
    assert len(got) >= 19, sorted(got, key=int)  # the default transports deliver far fewer
    assert set(got.values()) == {(1242, 375, 1242 * 375 * 3)}
