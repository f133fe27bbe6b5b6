"""Record topics of a live graph as raw CDR bytes (what online evaluation and the soak test need).

Subscriptions are raw (``raw=True``): nothing is deserialised in the callback; the recorded bytes
are decoded later with the pure-Python ``rosbags`` type store, like messages read from a bag.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from depth_completion_ros.bag.reading import BagMessage
from depth_completion_ros.ros.replay import message_class

_RELIABLE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50,
                       reliability=ReliabilityPolicy.RELIABLE)


@dataclass
class TopicRecorder:
    """Counts (and optionally keeps) every message of some topics.

    Attributes:
        counts: topic -> messages received.
        messages: received messages in arrival order, when ``keep`` (receive time in ns).
    """

    keep: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[BagMessage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[str, Any] = {}

    def subscribe(self, node: Node, topic: str, msgtype: str) -> None:
        """Record ``topic`` (ROS type ``msgtype``, e.g. ``sensor_msgs/msg/Image``) on ``node``."""
        self.counts.setdefault(topic, 0)

        def callback(raw: bytes) -> None:
            now = node.get_clock().now().nanoseconds
            with self._lock:
                self.counts[topic] += 1
                if self.keep:
                    self.messages.append(BagMessage(topic, msgtype, now, bytes(raw)))

        self._subscriptions[topic] = node.create_subscription(
            message_class(msgtype), topic, callback, _RELIABLE, raw=True)

    def publisher_counts(self) -> dict[str, int]:
        """Recorded topic -> publishers currently matched to its subscription."""
        return {topic: sub.get_publisher_count() for topic, sub in self._subscriptions.items()}

    def snapshot(self) -> tuple[dict[str, int], list[BagMessage]]:
        """Copies of the counts and the kept messages so far."""
        with self._lock:
            return dict(self.counts), list(self.messages)
