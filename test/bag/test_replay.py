"""Replay through a real rclpy graph: a small bag written into tmp_path, published by BagPlayer,
received by a TopicRecorder with the original stamps and byte-identical CDR payloads."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.rosbag2 import Writer

from depth_completion_ros.bag.messages import TYPESTORE, rgb_image, stamp_to_ns
from depth_completion_ros.bag.reading import iter_messages
from depth_completion_ros.bag.schedule import ReplayOptions
from depth_completion_ros.paths import CONFIG_DIR

rclpy = pytest.importorskip("rclpy")

#: Own DDS domain per test process (from its pid), localhost only, the package's SHM profile.
ROS_ENV = {"ROS_DOMAIN_ID": str(os.getpid() % 100 + 100),
           "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "FASTDDS_DEFAULT_PROFILES_FILE": str(CONFIG_DIR / "fastdds_shm.xml"),
           "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}
TOPIC = "/camera/image_raw"
START_NS = 1_316_995_200_000_000_000
PERIOD_NS = 100_000_000  # 10 Hz


def write_image_bag(path: Path, count: int = 4) -> None:
    """``count`` 2x3 rgb8 images at 10 Hz, each filled with its own index (bag time = stamp)."""
    with Writer(path, version=8) as writer:
        conn = writer.add_connection(TOPIC, "sensor_msgs/msg/Image", typestore=TYPESTORE)
        for i in range(count):
            stamp = START_NS + i * PERIOD_NS
            msg = rgb_image(np.full((2, 3, 3), 10 + i, np.uint8), stamp, "cam")
            writer.write(conn, stamp, TYPESTORE.serialize_cdr(msg, msg.__msgtype__))


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passed (a bound, not a timing check)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not predicate():
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, Any]]:
    """(player node, recorder node, spinner) in a private context spun in a thread; stopped
    before the nodes are destroyed (:mod:`depth_completion_ros.ros.spinning`)."""
    from depth_completion_ros.ros.spinning import BackgroundSpinner
    for key, value in ROS_ENV.items():
        monkeypatch.setenv(key, value)
    context = rclpy.Context()
    rclpy.init(context=context)
    nodes = [rclpy.create_node(name, context=context) for name in ("player", "recorder")]
    spinner = BackgroundSpinner(nodes, context=context)
    yield nodes[0], nodes[1], spinner
    spinner.stop()
    for node in nodes:
        node.destroy_node()
    rclpy.shutdown(context=context)


def test_replay_delivers_original_stamps_and_bytes(tmp_path: Path, graph: tuple) -> None:
    from depth_completion_ros.ros.recorder import TopicRecorder
    from depth_completion_ros.ros.replay import BagPlayer

    player_node, recorder_node, _ = graph
    write_image_bag(tmp_path / "bag")
    recorder = TopicRecorder()
    recorder.subscribe(recorder_node, "/remapped", "sensor_msgs/msg/Image")
    published: list[tuple[int, int]] = []
    player = BagPlayer(player_node, tmp_path / "bag",
                       ReplayOptions(rate=2.0, remap=((TOPIC, "/remapped"),)),
                       on_publish=lambda topic, stamp: published.append((time.monotonic_ns(),
                                                                         stamp)))
    assert wait_for(lambda: player.subscription_counts() == {"/remapped": 1})
    stats = player.play()
    assert wait_for(lambda: recorder.snapshot()[0]["/remapped"] == 4)
    _, received = recorder.snapshot()
    stamps = [START_NS + i * PERIOD_NS for i in range(4)]
    assert stats.published == {TOPIC: 4} and stats.passes == 1
    assert [m.raw for m in received] == [m.raw for m in iter_messages(tmp_path / "bag")]
    assert [stamp_to_ns(m.decode().header.stamp) for m in received] == stamps
    assert [int(m.decode().data[0]) for m in received] == [10, 11, 12, 13]
    assert [s for _, s in published] == stamps
    times = [t for t, _ in published]
    assert times == sorted(times)  # due times honoured in order (no tight timing check)
    assert [m.log_time_ns for m in received] == sorted(m.log_time_ns for m in received)


def test_loop_and_start_offset_publish_the_expected_stamps(tmp_path: Path, graph: tuple) -> None:
    from depth_completion_ros.ros.replay import BagPlayer

    player_node, _, _ = graph
    write_image_bag(tmp_path / "bag")
    seen: list[int] = []
    player = BagPlayer(player_node, tmp_path / "bag",
                       ReplayOptions(rate=4.0, start_offset_s=0.15, max_loops=2),
                       on_publish=lambda topic, stamp: seen.append(stamp))
    stats = player.play()
    tail = [START_NS + 2 * PERIOD_NS, START_NS + 3 * PERIOD_NS]
    assert seen == tail + tail and stats.passes == 2 and len(stats.pass_started_ns) == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_replay_command_stops_cleanly_on_a_signal(tmp_path: Path, graph: tuple,
                                                  sig: signal.Signals) -> None:
    """``depth-completion replay BAG --loop`` stopped by a signal while it publishes: exit
    status 0, its summary printed, no traceback (both used to end in a traceback: ``publisher's
    context is invalid``, rclpy's handler having shut the context down under the player)."""
    from depth_completion_ros.ros.recorder import TopicRecorder

    _, recorder_node, _ = graph
    write_image_bag(tmp_path / "bag")
    recorder = TopicRecorder(keep=False)
    recorder.subscribe(recorder_node, TOPIC, "sensor_msgs/msg/Image")
    process = subprocess.Popen(
        [sys.executable, "-m", "depth_completion_ros.cli.main", "replay", str(tmp_path / "bag"),
         "--loop", "--rate", "4"], env=dict(os.environ),  # the graph fixture's ROS_ENV
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: recorder.snapshot()[0][TOPIC] >= 6, 60.0)  # in its 2nd pass
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "context is invalid" not in err
    assert f"stopped by {sig.name}" in out and f"{TOPIC} " in out
