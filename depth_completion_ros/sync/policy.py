"""Image-driven camera / LiDAR pairing that keeps serving images when the LiDAR stops.

message_filters' ApproximateTimeSynchronizer never fires once one input stops. Here every image
is released exactly once, either paired with a cloud (completion mode) or alone (prediction
mode), and never later than ``max_wait`` after it arrived:

- clouds go into a bounded buffer (``buffer_size``, oldest dropped) and leave it as soon as they
  can no longer pair: older than the newest image's stamp minus ``slop`` (image stamps only grow),
  or the LiDAR counts as down (images then go alone), so a huge cloud is not held for the next
  ``buffer_size`` clouds (or for ever, when the LiDAR stops after it);
- an image is paired with the buffered cloud whose stamp is nearest, if within ``slop``; it is
  released at once when nothing nearer can come: a cloud stamped at or after it is buffered, or
  the LiDAR's period is known and the next cloud, due one period after the newest (less a tenth
  of a period for jitter), would be farther from the image than the nearest buffered one. Else
  it waits for a late cloud until ``max_wait`` has passed (:meth:`ImageDrivenSync.poll`). The
  period rule matters on real rigs: a scan is stamped by its own clock (KITTI: about 10 ms
  before the camera it triggers), so without it every image waited for the next scan, a whole
  LiDAR period, before it could be served. The period is the median of the last
  :data:`PERIOD_SAMPLES` stamp differences between consecutive clouds (known from the third
  cloud on; forgotten on a reset or a dropout);
- when no cloud has *arrived* for ``lidar_timeout`` (LiDAR dropout) the image is released alone
  at once;
- start-up: before the first cloud, silence is counted from the first image's arrival, not from
  construction. A node may idle long before sensor data flows (a bag replay started later, drivers
  starting in any order); that idle time says nothing about the LiDAR. So the first images wait
  ``max_wait`` for a cloud like any other image, and a node fed by a camera alone enters dropout
  ``lidar_timeout`` after its first image (the images before that are released alone after
  ``max_wait``, as ``unmatched``);
- an image still unmatched after ``max_wait`` is released alone too (counted as ``unmatched``:
  a steady count means the stamps of the two sensors disagree by more than ``slop``);
- stamps going backwards (a bag looping) clear the buffer and drop any waiting image, which
  belongs to the old run (``resets`` counts them).

Stamps are message times in seconds; arrival and waiting use the ``clock`` passed in (seconds,
the node's clock, so simulated time works), which also makes the policy testable.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.status import Pairing, Trigger

ImageT = TypeVar("ImageT")
CloudT = TypeVar("CloudT")

MATCHED, LIDAR_TIMEOUT, UNMATCHED = Pairing.MATCHED, Pairing.LIDAR_TIMEOUT, Pairing.UNMATCHED

#: consecutive-cloud stamp differences whose median is the LiDAR period
PERIOD_SAMPLES = 8
#: the next cloud is taken to come at most this fraction of a period early
PERIOD_JITTER = 0.1


@dataclass(frozen=True)
class SyncConfig:
    """Timing of the pairing, seconds.

    Attributes:
        slop: largest |image stamp - cloud stamp| of a pair.
        max_wait: longest an image waits for a late cloud after it arrived.
        lidar_timeout: no cloud arrival for this long = LiDAR down, images go alone at once.
        buffer_size: clouds kept.
        trigger: what releases frames, ``auto``, ``image`` or ``lidar``
            (:class:`~depth_completion_ros.sync.trigger.TriggeredSync`; this module's policy
            is the image-driven one).
        image_timeout: ``auto``: no image arrival for this long, with a model that needs no
            image = the frames are released by the clouds.
    """

    slop: float = 0.05
    max_wait: float = 0.1
    lidar_timeout: float = 0.5
    buffer_size: int = 10
    trigger: str = Trigger.AUTO.value
    image_timeout: float = 0.5

    def __post_init__(self) -> None:
        for name in ("slop", "max_wait", "lidar_timeout", "image_timeout"):
            value = getattr(self, name)
            if not 0.0 <= value < float("inf"):
                raise ConfigError(f"sync {name}: expected a finite value >= 0 s, got {value!r}")
        if self.buffer_size < 1:
            raise ConfigError(f"sync buffer_size: expected >= 1, got {self.buffer_size!r}")
        if self.trigger not in {t.value for t in Trigger}:
            raise ConfigError(f"sync trigger: expected one of {[t.value for t in Trigger]}, "
                              f"got {self.trigger!r}")

    def at_rate(self, rate: float) -> SyncConfig:
        """The timing for sensors replayed at ``rate`` times real time.

        ``max_wait``, ``lidar_timeout`` and ``image_timeout`` are measured on the node's clock
        (arrivals), which a replay does not slow down: at ``rate`` 0.125 a 10 Hz LiDAR arrives
        every 0.8 s, longer than the default ``lidar_timeout``, and every image that arrives
        before its cloud would go alone as ``lidar_timeout``. Divided by ``rate`` they span
        the same stretch of sensor time as at real time, so the pairing is the real-time one;
        ``slop`` (a difference of stamps) and ``buffer_size`` are kept.

        Raises:
            ConfigError: ``rate`` is not a finite value > 0.

        Example:
            >>> SyncConfig().at_rate(0.25).lidar_timeout
            2.0
        """
        if not 0.0 < rate < math.inf:
            raise ConfigError(f"replay rate: expected a finite value > 0, got {rate!r}")
        return replace(self, max_wait=self.max_wait / rate,
                       lidar_timeout=self.lidar_timeout / rate,
                       image_timeout=self.image_timeout / rate)


@dataclass(frozen=True)
class SyncedFrame(Generic[ImageT, CloudT]):
    """An image released by the policy, with its cloud when it has one.

    Attributes:
        image: the image payload as given to :meth:`ImageDrivenSync.add_image`.
        image_stamp: seconds.
        cloud: the paired cloud payload, or None (prediction mode).
        cloud_stamp: seconds, or None.
        reason: "matched", "lidar_timeout" or "unmatched".
    """

    image: ImageT
    image_stamp: float
    cloud: CloudT | None
    cloud_stamp: float | None
    reason: Pairing


class ImageDrivenSync(Generic[ImageT, CloudT]):
    """The pairing policy (not thread-safe: call it from one thread or under one lock).

    Args:
        config: timing.
        clock: returns "now" in seconds (monotonic within a run).
    """

    def __init__(self, config: SyncConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._clouds: deque[tuple[float, CloudT]] = deque(maxlen=config.buffer_size)
        self._waiting: tuple[float, float, ImageT] | None = None  # stamp, arrival, image
        self._started = clock()
        self._last_cloud_arrival: float | None = None
        self._first_image_arrival: float | None = None
        self._last_image_stamp: float | None = None
        self._last_cloud_stamp: float | None = None
        self._gaps: deque[float] = deque(maxlen=PERIOD_SAMPLES)
        self.resets = 0
        self.unmatched = 0

    def lidar_age(self) -> float:
        """Seconds since the last cloud arrived (since construction when none has yet)."""
        last = self._started if self._last_cloud_arrival is None else self._last_cloud_arrival
        return self._clock() - last

    def lidar_alive(self) -> bool:
        """False once no cloud has arrived for ``lidar_timeout`` (LiDAR dropout).

        Silence is measured from the last cloud's arrival; before the first cloud, from the
        first image's arrival (and the LiDAR counts as alive before any image).
        """
        since = self._last_cloud_arrival if self._last_cloud_arrival is not None \
            else self._first_image_arrival
        return since is None or self._clock() - since < self.config.lidar_timeout

    def add_cloud(self, stamp: float, cloud: CloudT) -> list[SyncedFrame[ImageT, CloudT]]:
        """Buffer a cloud; returns the waiting image if this cloud completes its pairing."""
        released: list[SyncedFrame[ImageT, CloudT]] = []
        if self._clouds and stamp < self._clouds[-1][0]:
            self._reset()
        if not self.lidar_alive():  # after a dropout the old period may no longer hold
            self._gaps.clear()
            self._last_cloud_stamp = None
        if self._last_cloud_stamp is not None and stamp > self._last_cloud_stamp:
            self._gaps.append(stamp - self._last_cloud_stamp)
        self._last_cloud_stamp = stamp
        self._clouds.append((stamp, cloud))
        self._last_cloud_arrival = self._clock()
        if self._waiting is not None and self._settled(self._waiting[0]):
            released.append(self._release_waiting())
        return released

    def lidar_period(self) -> float | None:
        """Median (the lower one of an even count: the shorter period releases less eagerly)
        of the recent stamp differences of consecutive clouds, seconds; None until two
        differences are known."""
        if len(self._gaps) < 2:
            return None
        ordered = sorted(self._gaps)
        return ordered[(len(ordered) - 1) // 2]

    def _settled(self, stamp: float) -> bool:
        """True when no cloud yet to come can be nearer to an image stamped ``stamp`` than one
        already buffered (see the module's rules)."""
        if not self._clouds:
            return False
        newest = self._clouds[-1][0]
        if newest >= stamp:
            return True
        period = self.lidar_period()
        if period is None:
            return False
        due = newest + (1.0 - PERIOD_JITTER) * period
        nearest = min(abs(s - stamp) for s, _ in self._clouds)
        return due - stamp > nearest

    def add_image(self, stamp: float, image: ImageT) -> list[SyncedFrame[ImageT, CloudT]]:
        """Offer an image; returns what is released now (this image and / or an older waiter)."""
        released: list[SyncedFrame[ImageT, CloudT]] = []
        if self._last_image_stamp is not None and stamp < self._last_image_stamp:
            self._reset()
        self._last_image_stamp = stamp
        if self._first_image_arrival is None:
            self._first_image_arrival = self._clock()
        if self._waiting is not None:  # a newer image: the older one cannot wait any longer
            released.append(self._release_waiting())
        while self._clouds and self._clouds[0][0] < stamp - self.config.slop:
            self._clouds.popleft()  # no image from now on can pair with it
        self._waiting = (stamp, self._clock(), image)
        if not self.lidar_alive():
            released.append(self._emit(None, LIDAR_TIMEOUT))
        elif self._settled(stamp):
            released.append(self._release_waiting())
        return released

    def poll(self) -> list[SyncedFrame[ImageT, CloudT]]:
        """Release the waiting image once ``max_wait`` has passed (call it from a timer); forget
        the buffered clouds once the LiDAR counts as down (no image pairs with them then)."""
        if self._clouds and not self.lidar_alive():
            self._clouds.clear()
        if self._waiting is None:
            return []
        if not self.lidar_alive():
            return [self._emit(None, LIDAR_TIMEOUT)]
        if self._clock() - self._waiting[1] >= self.config.max_wait:
            return [self._release_waiting()]
        return []

    def forget_clouds_before(self, stamp: float) -> None:
        """Drop the buffered clouds stamped before ``stamp`` (LiDAR-driven frames: each cloud
        is served on arrival, only the newest is kept for an image that may come)."""
        while self._clouds and self._clouds[0][0] < stamp:
            self._clouds.popleft()

    def _nearest(self, stamp: float) -> tuple[float, CloudT] | None:
        """Buffered (stamp, cloud) nearest to ``stamp`` within ``slop``, or None."""
        best = min(self._clouds, key=lambda item: abs(item[0] - stamp), default=None)
        if best is None or abs(best[0] - stamp) > self.config.slop:
            return None
        return best

    def _release_waiting(self) -> SyncedFrame[ImageT, CloudT]:
        """Release the waiting image (callers check there is one) with its nearest cloud."""
        assert self._waiting is not None
        match = self._nearest(self._waiting[0])
        if match is None:
            self.unmatched += 1
            return self._emit(None, UNMATCHED)
        return self._emit(match, MATCHED)

    def _emit(self, match: tuple[float, CloudT] | None,
              reason: Pairing) -> SyncedFrame[ImageT, CloudT]:
        assert self._waiting is not None  # callers emit only while an image waits
        stamp, _, image = self._waiting
        self._waiting = None
        if match is None:
            return SyncedFrame(image, stamp, None, None, reason)
        return SyncedFrame(image, stamp, match[1], match[0], reason)

    def _reset(self) -> None:
        """Stamps went backwards: forget clouds and any waiting image (it belongs to the old
        run)."""
        self.resets += 1
        self._clouds.clear()
        self._gaps.clear()
        self._last_cloud_stamp = None
        self._waiting = None
        self._last_image_stamp = None
