"""The node's input side: the latest camera model and the bad-input report.

No ROS import: messages are duck-typed and the logger is passed in, so these pieces are unit
tested without a ROS context.
"""
from __future__ import annotations

import threading
import time
import traceback
from typing import Any

import numpy as np

from depth_completion_ros.decoding import camera_info_to_camera
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.runtime.stats import NodeStats
from depth_completion_ros.status import InputKind


class CameraCache:
    """The latest valid CameraInfo and its PinholeCamera (thread-safe; a bad one is not kept).

    Before the first valid CameraInfo, :meth:`current` may wait for it: a driver or a bag
    publishes the first image, its camera_info and its cloud at one instant, and the worker can
    take the frame the cloud released before the executor has run the camera_info callback
    (callbacks of different subscriptions run in no fixed order). Without the wait, that first
    frame was skipped for "no CameraInfo" now and then, depending on the load.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._latest: tuple[Any, PinholeCamera] | None = None

    def update(self, msg: Any) -> None:
        """Keep ``msg`` unless it describes the camera already kept.

        Raises:
            InputError: zero K, empty size or a calibration the camera model rejects.
        """
        camera = camera_info_to_camera(msg)  # checked before anything reads it
        with self._cond:
            if self._latest is None or self._latest[1] != camera:
                self._latest = (msg, camera)
            self._cond.notify_all()

    def current(self, wait_s: float = 0.0) -> tuple[Any, PinholeCamera]:
        """(CameraInfo, PinholeCamera) of the latest valid camera_info.

        Args:
            wait_s: when none has been received yet, wait at most this long for the first one
                (seconds; the worker passes the sync's ``max_wait``). Once one is kept, no wait.

        Raises:
            InputError: no valid CameraInfo received (within ``wait_s``).
        """
        with self._cond:
            if self._latest is None and wait_s > 0.0:
                self._cond.wait_for(lambda: self._latest is not None, wait_s)
            latest = self._latest
        if latest is None:
            raise InputError("camera_info: no valid CameraInfo received yet" +
                             (f" (waited {wait_s:g} s)" if wait_s > 0.0 else ""))
        return latest

    def camera_or_none(self) -> PinholeCamera | None:
        """The latest PinholeCamera, or None before the first valid camera_info."""
        with self._cond:
            return None if self._latest is None else self._latest[1]


class BadInputReport:
    """Counts a skipped input in the stats and logs it at most every ``every_s`` per kind.

    An exception that is not an expected one (``expected``: an :class:`InputError` by default)
    is a bug, not bad input: it is counted under its kind *and* as ``internal``, and logged as an
    error with its traceback (throttled the same way).

    Args:
        stats: where the error is counted (diagnostics ``input_errors.<kind>``).
        logger: has ``warning(str)`` and ``error(str)`` (an rclpy logger).
        every_s: throttle of the log line per kind, seconds (monotonic clock).

    Example:
        >>> class Log:
        ...     def warning(self, text): print("warning:", text)
        ...     def error(self, text): print("error:", text.splitlines()[0])
        >>> stats = NodeStats()
        >>> report = BadInputReport(stats, Log())
        >>> report(InputKind.POINTS, InputError("PointCloud2.point_step: -1 is outside [1, 65536]"))
        warning: skipped (points): PointCloud2.point_step: -1 is outside [1, 65536]
        >>> report(InputKind.POINTS, ValueError("a bug"))
        error: skipped (points), internal error: ValueError('a bug')
        >>> sorted(stats.errors.items())
        [('internal', 1), ('points', 2)]
    """

    def __init__(self, stats: NodeStats, logger: Any, every_s: float = 2.0) -> None:
        self._stats, self._logger, self._every_s = stats, logger, every_s
        self._last_log: dict[str, float] = {}

    def __call__(self, kind: InputKind, err: BaseException, *,
                 expected: tuple[type[BaseException], ...] = (InputError,)) -> None:
        internal = kind == InputKind.INTERNAL or not isinstance(err, expected)
        self._stats.record_error(kind, f"{kind}: {err}")
        if internal and kind != InputKind.INTERNAL:
            self._stats.record_error(InputKind.INTERNAL, f"{kind}: internal error: {err!r}")
        key = InputKind.INTERNAL if internal else kind
        now = time.monotonic()
        if now - self._last_log.get(key, -np.inf) < self._every_s:
            return
        self._last_log[key] = now
        if internal:
            trace = "".join(traceback.format_exception(type(err), err, err.__traceback__))
            self._logger.error(f"skipped ({kind}), internal error: {err!r}\n{trace}")
        else:
            self._logger.warning(f"skipped ({kind}): {err}")
