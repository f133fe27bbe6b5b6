"""The node's input side: the latest camera model and the bad-input report.

No ROS import: messages are duck-typed and the logger is passed in, so these pieces are unit
tested without a ROS context.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from depth_completion_ros.decoding import camera_info_to_camera
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.runtime.stats import NodeStats
from depth_completion_ros.status import InputKind


class CameraCache:
    """The latest valid CameraInfo and its PinholeCamera (thread-safe; a bad one is not kept)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: tuple[Any, PinholeCamera] | None = None

    def update(self, msg: Any) -> None:
        """Keep ``msg`` unless it describes the camera already kept.

        Raises:
            InputError: zero K, empty size or a calibration the camera model rejects.
        """
        with self._lock:
            latest = self._latest
        if latest is not None and _same_camera(latest[0], msg):
            return
        camera = camera_info_to_camera(msg)
        with self._lock:
            self._latest = (msg, camera)

    def current(self) -> tuple[Any, PinholeCamera]:
        """(CameraInfo, PinholeCamera) of the latest valid camera_info.

        Raises:
            InputError: no valid CameraInfo received yet.
        """
        with self._lock:
            latest = self._latest
        if latest is None:
            raise InputError("camera_info: no valid CameraInfo received yet")
        return latest

    def camera_or_none(self) -> PinholeCamera | None:
        """The latest PinholeCamera, or None before the first valid camera_info."""
        with self._lock:
            return None if self._latest is None else self._latest[1]


def _same_camera(a: Any, b: Any) -> bool:
    """True when two CameraInfo messages have the same size, K, D, R and P."""
    if (int(a.width), int(a.height), str(a.distortion_model)) != \
            (int(b.width), int(b.height), str(b.distortion_model)):
        return False
    return all(np.array_equal(np.asarray(getattr(a, f), np.float64),
                              np.asarray(getattr(b, f), np.float64)) for f in "kdrp")


class BadInputReport:
    """Counts a skipped input in the stats and logs it at most every ``every_s`` per kind.

    Args:
        stats: where the error is counted (diagnostics ``input_errors.<kind>``).
        logger: has ``warning(str)`` (an rclpy logger).
        every_s: throttle of the log line per kind, seconds (monotonic clock).
    """

    def __init__(self, stats: NodeStats, logger: Any, every_s: float = 2.0) -> None:
        self._stats, self._logger, self._every_s = stats, logger, every_s
        self._last_log: dict[str, float] = {}

    def __call__(self, kind: InputKind, err: Exception) -> None:
        self._stats.record_error(kind, f"{kind}: {err}")
        now = time.monotonic()
        if now - self._last_log.get(kind, -np.inf) >= self._every_s:
            self._last_log[kind] = now
            self._logger.warning(f"skipped ({kind}): {err}")
