"""Replay timing and topic remapping, pure (no ROS): when each bag message is due.

``depth_completion_ros.ros.replay`` publishes what this module schedules; keeping the arithmetic
here makes rate factors, start offsets, loops and remaps testable without a ROS graph.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from depth_completion_ros.errors import InputError


class Stamped(Protocol):
    """Anything with a bag receive time in nanoseconds."""

    @property
    def log_time_ns(self) -> int: ...


M = TypeVar("M", bound=Stamped)


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay a bag.

    Attributes:
        rate: playback speed factor (2.0 = twice as fast); > 0.
        loop: start again from the beginning after the last message.
        start_offset_s: skip the first seconds of the bag (bag time, seconds >= 0).
        remap: topic in the bag -> topic to publish on.
        max_loops: stop after this many passes (None = once, or forever when ``loop``).
    """

    rate: float = 1.0
    loop: bool = False
    start_offset_s: float = 0.0
    remap: tuple[tuple[str, str], ...] = ()
    max_loops: int | None = None

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise InputError(f"replay rate must be > 0, got {self.rate!r}")
        if not self.start_offset_s >= 0:
            raise InputError(f"start offset must be >= 0 s, got {self.start_offset_s!r}")
        if self.max_loops is not None and self.max_loops < 1:
            raise InputError(f"max_loops must be >= 1, got {self.max_loops!r}")

    def topic(self, bag_topic: str) -> str:
        """Published name of ``bag_topic`` after remapping."""
        return dict(self.remap).get(bag_topic, bag_topic)

    def passes(self) -> int | None:
        """Number of passes over the bag (None = endless)."""
        if self.max_loops is not None:
            return self.max_loops
        return None if self.loop else 1


def parse_remaps(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Parse ``FROM:=TO`` remapping arguments (the ``ros2 bag play --remap`` form)."""
    pairs = []
    for item in items:
        source, sep, target = item.partition(":=")
        if not sep or not source or not target:
            raise InputError(f"remap must look like FROM:=TO, got {item!r}")
        pairs.append((source, target))
    return tuple(pairs)


def due_offsets(messages: Iterable[M], options: ReplayOptions) -> Iterator[tuple[M, float]]:
    """Pair each message with its wall-clock offset from the start of a pass (lazily, streaming).

    Args:
        messages: objects with ``log_time_ns`` (bag receive time, nanoseconds), in bag order.
        options: rate factor and start offset.

    Yields:
        (message, seconds after the pass started at which it is due); messages before the
        start offset are skipped.
    """
    first: int | None = None
    for message in messages:
        if first is None:
            first = message.log_time_ns + int(round(options.start_offset_s * 1e9))
        if message.log_time_ns >= first:
            yield message, (message.log_time_ns - first) / 1e9 / options.rate
