"""Run the live node on a bag: start depth_completion_node, replay, record its outputs.

Used by online evaluation and the soak benchmark. The node runs in a subprocess with the Fast DDS
shared-memory profile (``FASTDDS_DEFAULT_PROFILES_FILE`` = ``config/fastdds_shm.xml``) in a
namespace of its own; its resident memory is sampled from ``/proc/<pid>/status`` (VmRSS).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rclpy
from rclpy.node import Node

from depth_completion_ros.bag.reading import BagMessage
from depth_completion_ros.bag.schedule import ReplayOptions
from depth_completion_ros.bag.topics import COMPRESSED, BagTopics, transport_base
from depth_completion_ros.errors import DepthCompletionError
from depth_completion_ros.paths import config_dir
from depth_completion_ros.ros.recorder import TopicRecorder
from depth_completion_ros.ros.replay import BagPlayer, ReplayStats
from depth_completion_ros.ros.spinning import BackgroundSpinner
from depth_completion_ros.status import DiagnosticKey as Key
from depth_completion_ros.status import InputKind

NAMESPACE = "/depth_completion_eval"
_NODE_MAIN = "import sys; from depth_completion_ros.ros.node import main; sys.exit(main())"


@dataclass
class LiveRun:
    """What a live run produced.

    Attributes:
        replay: what the player published.
        outputs: recorded node outputs (``depth`` and ``confidence`` when kept).
        counts: topic -> messages received.
        diagnostics: the last /diagnostics key -> value of the node.
        rss_mb: (seconds since the replay started, images sent so far, node VmRSS in MB) samples.
        image_publish_ns: image header stamp -> wall time (ns) the player published it.
    """

    replay: ReplayStats
    outputs: list[BagMessage]
    counts: dict[str, int]
    diagnostics: dict[str, str] = field(default_factory=dict)
    rss_mb: list[tuple[float, int, float]] = field(default_factory=list)
    image_publish_ns: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FrameAccount:
    """Where every image sent to the node went (counts of one live run).

    ``sent = published + dropped + unserved + other_input_errors + unaccounted``; only
    ``unaccounted`` is a lost frame. ``dropped``: stale frames replaced in the node's queue of one
    (by design); ``unserved``: frames no model could serve (e.g. no RGB-only model without LiDAR);
    ``other_input_errors``: images the node rejected as bad input; ``loop_resets``: sync buffer
    resets when a looped bag's stamps go backwards (not frames).
    """

    sent: int
    published: int
    dropped: int
    unserved: int
    other_input_errors: int
    loop_resets: int

    @property
    def unaccounted(self) -> int:
        """Images neither published nor counted by the node: lost frames."""
        return self.sent - self.published - self.dropped - self.unserved \
            - self.other_input_errors


def frame_account(live: LiveRun, image_topic: str) -> FrameAccount:
    """The :class:`FrameAccount` of ``live`` from the player's counts and the node's diagnostics."""
    diag = live.diagnostics
    resets = int(diag.get(Key.INPUT_ERRORS.of(InputKind.STAMPS_BACKWARDS), 0))
    unserved = int(diag.get(Key.FRAMES_UNSERVED, 0))
    # input_errors also counts unserved frames and loop resets, neither a rejected input
    other = int(diag.get(Key.INPUT_ERRORS, 0)) - unserved - resets
    return FrameAccount(live.replay.published.get(image_topic, 0),
                        live.counts.get(f"{NAMESPACE}/depth", 0),
                        int(diag.get(Key.FRAMES_DROPPED, 0)), unserved, max(other, 0), resets)


def node_command(topics: BagTopics, parameters: dict[str, object]) -> list[str]:
    """The node's command line: remapped inputs, a private namespace, ``-p`` parameters.

    With ``image_transport: compressed`` the node's ``image`` is remapped to the base of the
    compressed topic (``/cam/image_raw`` for ``/cam/image_raw/compressed``): the node subscribes
    to ``<image>/compressed``, as image_transport does.
    """
    image = transport_base(topics.image) if parameters.get("image_transport") == COMPRESSED \
        else topics.image
    command = [sys.executable, "-c", _NODE_MAIN, "--ros-args", "-r", f"__ns:={NAMESPACE}",
               "-r", f"image:={image}", "-r", f"camera_info:={topics.camera_info}",
               "-r", f"points:={topics.points}"]
    for name, value in parameters.items():
        text = "[" + ",".join(repr(float(v)) for v in value) + "]" \
            if isinstance(value, (list, tuple)) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        command += ["-p", f"{name}:={text}"]
    return command


def node_env() -> dict[str, str]:
    """Environment of the node and of this process: the shared-memory Fast DDS profile (with
    its history memory policy, unless the user exported a profile of their own)."""
    env = dict(os.environ)
    if "FASTDDS_DEFAULT_PROFILES_FILE" not in env:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(config_dir() / "fastdds_shm.xml")
        env.setdefault("RMW_FASTRTPS_USE_QOS_FROM_XML", "1")
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    return env


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (VmRSS of /proc/<pid>/status); NaN if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def run_live(bag: Path, topics: BagTopics, parameters: dict[str, object],
             options: ReplayOptions, *, keep_outputs: bool = True,
             ready_timeout_s: float = 60.0, drain_s: float = 3.0) -> LiveRun:
    """Start the node, wait until every input and output is matched, replay ``bag``, wait for the
    node to drain, stop it.

    Raises:
        DepthCompletionError: the node exits early or its topics are not matched in time.
    """
    saved = dict(os.environ)
    os.environ.update(node_env())  # this process's participant uses the same profile
    process = subprocess.Popen(node_command(topics, parameters), env=node_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rclpy.init()
    try:
        return _drive(process, bag, topics, options, keep_outputs, ready_timeout_s, drain_s)
    finally:
        rclpy.try_shutdown()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        os.environ.clear()
        os.environ.update(saved)


def _drive(process: subprocess.Popen, bag: Path, topics: BagTopics, options: ReplayOptions,
           keep: bool, ready_timeout_s: float, drain_s: float) -> LiveRun:
    node = rclpy.create_node("depth_completion_eval_driver")
    recorder = TopicRecorder(keep=keep)
    for name in ("depth", "confidence"):
        recorder.subscribe(node, f"{NAMESPACE}/{name}", "sensor_msgs/msg/Image")
    diagnostics = _DiagnosticsListener(node)
    published: dict[int, int] = {}
    player = BagPlayer(node, bag, options, (topics.image, topics.camera_info, topics.points),
                       on_publish=lambda topic, stamp: published.__setitem__(stamp, time.time_ns())
                       if topic == topics.image else None)
    spinner = BackgroundSpinner([node])
    samples: list[tuple[float, int, float]] = []
    stop = threading.Event()
    try:
        _wait_matched(process, player, recorder, diagnostics, ready_timeout_s)
        sampler = threading.Thread(target=_sample_rss, daemon=True, args=(
            process.pid, lambda: player.stats.published.get(topics.image, 0), samples, stop))
        sampler.start()
        stats = player.play()
        _drain(recorder, f"{NAMESPACE}/depth", drain_s)
        stop.set()
        sampler.join()
        counts, outputs = recorder.snapshot()
    finally:
        stop.set()
        spinner.stop()  # before the node goes: no callback may still be handed out
        node.destroy_node()
    return LiveRun(stats, outputs, counts, diagnostics.latest, samples, published)


def _wait_matched(process: subprocess.Popen, player: BagPlayer, recorder: TopicRecorder,
                  diagnostics: _DiagnosticsListener, timeout_s: float) -> None:
    """Wait until the node subscribes to every replayed topic, publishes every recorded one and
    spins (its first /diagnostics), so no message of the bag is lost to discovery or queued
    before the node takes it."""
    deadline = time.monotonic() + timeout_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read() if process.stderr is not None else ""
            raise DepthCompletionError(f"depth_completion_node exited with {process.returncode}: "
                                       f"{stderr[-2000:]}")
        counts = {**player.subscription_counts(), **recorder.publisher_counts(),
                  "/diagnostics": diagnostics.received}
        if all(counts.values()):
            return
        time.sleep(0.05)
    missing = sorted(topic for topic, n in counts.items() if not n)
    raise DepthCompletionError(f"depth_completion_node: topics {missing} not matched within "
                               f"{timeout_s} s")


def _drain(recorder: TopicRecorder, topic: str, quiet_s: float) -> None:
    """Wait until no new output arrived for ``quiet_s`` seconds."""
    last, last_change = -1, time.monotonic()
    while time.monotonic() - last_change < quiet_s:
        count = recorder.snapshot()[0].get(topic, 0)
        if count != last:
            last, last_change = count, time.monotonic()
        time.sleep(0.1)


def _sample_rss(pid: int, frames: Callable[[], int], samples: list[tuple[float, int, float]],
                stop: threading.Event) -> None:
    """Every 0.5 s: (seconds since start, images sent, VmRSS MB) of the node."""
    start = time.monotonic()
    while not stop.wait(0.5):
        samples.append((time.monotonic() - start, frames(), rss_mb(pid)))


class _DiagnosticsListener:
    """Keeps the node's latest /diagnostics key-values."""

    def __init__(self, node: Node) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        self.latest: dict[str, str] = {}
        self.received = 0
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on, 10)

    def _on(self, msg: Any) -> None:
        for status in msg.status:
            if status.name.startswith(NAMESPACE):
                self.received += 1
                self.latest = {kv.key: kv.value for kv in status.values}
