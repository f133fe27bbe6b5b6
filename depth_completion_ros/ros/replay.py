"""Publish a bag through rclpy with its original timing (``depth-completion replay``).

The bag is read with the pure-Python ``rosbags`` (:mod:`depth_completion_ros.bag.reading`) and each
message is published as CDR bytes (``Publisher.publish(bytes)``): a ROS 2 bag's as stored (nothing
is deserialised or re-serialised), a ROS 1 bag's converted to the ROS 2 message of the same type
(:mod:`depth_completion_ros.bag.ros1`; topics of ROS 1 types without a ROS 2 definition, and
messages that fail to convert, are skipped and counted). Timing, rate factor, start offset,
loops and remaps come from :mod:`depth_completion_ros.bag.schedule`. ``/tf_static`` is published
with transient-local QoS so late subscribers still get it. On a machine with ROS 2,
``ros2 bag play`` does the same.
"""
from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from depth_completion_ros.bag.reading import (
    bag_topics,
    header_stamp_ns,
    iter_messages,
    unreadable_topics,
)
from depth_completion_ros.bag.schedule import ReplayOptions, due_offsets
from depth_completion_ros.bag.topics import TF_STATIC_TOPIC

_LATCHED = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)
_STREAM = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.VOLATILE)


@dataclass
class ReplayStats:
    """What a replay published.

    Attributes:
        published: bag topic -> messages published.
        passes: completed passes over the bag.
        skipped_topics: bag topic -> reason it was not published (type not importable here, or
            a ROS 1 type without a ROS 2 definition).
        pass_started_ns: wall-clock time (ns) at which each pass began.
        skipped_messages: bag topic -> ROS 1 messages not published (they failed to convert).
    """

    published: dict[str, int] = field(default_factory=dict)
    passes: int = 0
    skipped_topics: dict[str, str] = field(default_factory=dict)
    pass_started_ns: list[int] = field(default_factory=list)
    skipped_messages: dict[str, int] = field(default_factory=dict)


def message_class(msgtype: str) -> Any:
    """The rclpy message class of a ``pkg/msg/Name`` type, e.g. ``sensor_msgs/msg/Image``."""
    package, _, name = msgtype.rpartition("/")
    return getattr(importlib.import_module(package.replace("/", ".")), name)


class BagPlayer:
    """Publishes one bag's topics on a node.

    Args:
        node: the node that owns the publishers.
        bag: the bag folder or file.
        options: rate, loop, start offset, remaps.
        topics: bag topics to publish (all when empty).
        on_publish: called with (bag topic, header stamp ns) after each publication of a
            message that starts with a std_msgs/Header (not /tf_static).
    """

    def __init__(self, node: Node, bag: str | Path, options: ReplayOptions,
                 topics: tuple[str, ...] = (),
                 on_publish: Callable[[str, int], None] | None = None) -> None:
        self._bag = Path(bag)
        self._on_publish = on_publish
        self._options = options
        self.stats = ReplayStats()
        self._publishers: dict[str, Any] = {}
        self.stats.skipped_topics.update({t: reason for t, reason in
                                          unreadable_topics(self._bag).items()
                                          if not topics or t in topics})
        for topic, msgtype in bag_topics(self._bag).items():
            if topics and topic not in topics:
                continue
            try:
                cls = message_class(msgtype)
            except (ImportError, AttributeError) as err:
                self.stats.skipped_topics[topic] = f"{msgtype} not importable: {err}"
                continue
            qos = _LATCHED if topic == TF_STATIC_TOPIC else _STREAM
            self._publishers[topic] = node.create_publisher(cls, options.topic(topic), qos)
            self.stats.published[topic] = 0

    def subscription_counts(self) -> dict[str, int]:
        """Published topic -> subscriptions currently matched to its publisher."""
        return {self._options.topic(topic): publisher.get_subscription_count()
                for topic, publisher in self._publishers.items()}

    def play(self, stop: threading.Event | None = None) -> ReplayStats:
        """Publish until the bag (or the last loop) ends or ``stop`` is set; returns the stats."""
        stop = stop or threading.Event()
        passes = self._options.passes()
        while (passes is None or self.stats.passes < passes) and not stop.is_set():
            gap = self._play_once(stop)
            if not stop.is_set():
                self.stats.passes += 1
                if passes is None or self.stats.passes < passes:
                    stop.wait(gap)
        return self.stats

    def _play_once(self, stop: threading.Event) -> float:
        """One pass; returns the mean interval between distinct due times (the gap to the next
        pass, so a looped bag keeps its rate)."""
        start, offsets = time.monotonic(), set()
        self.stats.pass_started_ns.append(time.time_ns())
        for message, offset in due_offsets(iter_messages(self._bag, tuple(self._publishers)),
                                           self._options):
            delay = start + offset - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            if message.error is not None:
                skipped = self.stats.skipped_messages
                skipped[message.topic] = skipped.get(message.topic, 0) + 1
                continue
            self._publishers[message.topic].publish(message.raw)
            self.stats.published[message.topic] += 1
            if self._on_publish is not None and message.topic != TF_STATIC_TOPIC:
                self._on_publish(message.topic, header_stamp_ns(message.raw))
            offsets.add(offset)
        return max(offsets, default=0.0) / max(1, len(offsets) - 1)
