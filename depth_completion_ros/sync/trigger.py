"""What releases the node's frames: images (each paired with its cloud) or clouds (alone).

A model that needs no camera image (``spec.needs_image`` False: ``depth_only``, and
``classical``, ``ip_basic``, ``nearest``, which complete from the LiDAR alone) can serve a rig
whose image topic is absent: ``camera_info`` (image size, projection) and the LiDAR are enough,
and each cloud releases a frame without an image (LiDAR-driven). The rule, ``SyncConfig.trigger``:

- ``image``: image-driven always (:class:`~depth_completion_ros.sync.policy.ImageDrivenSync`);
- ``lidar``: every cloud is released at once, without an image; images are ignored (the node
  refuses this trigger with a model that needs an image);
- ``auto`` (the default): image-driven while the model needs an image or images arrive;
  LiDAR-driven once the model needs no image and no image has arrived for ``image_timeout``.
  Before the first image that silence counts from the first cloud's arrival (as the LiDAR's
  counts from the first image: time the node idled before data flowed says nothing about the
  camera). At the switch the newest cloud that no image can have used (stamped more than
  ``slop`` after the last image) is released at once; the clouds before it in that first
  ``image_timeout`` are not served. The first image to arrive switches back to image-driven.

In LiDAR-driven mode the clouds still go through the image-driven policy (LiDAR silence, stamps
going backwards), which then keeps only the newest cloud, for an image that may come.
Stamps are message times in seconds; arrival and waiting use the ``clock`` passed in.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic

from depth_completion_ros.status import Pairing, Trigger
from depth_completion_ros.sync.policy import (
    CloudT,
    ImageDrivenSync,
    ImageT,
    SyncConfig,
    SyncedFrame,
)


class TriggeredSync(Generic[ImageT, CloudT]):
    """Image-driven or LiDAR-driven release of frames (not thread-safe: call it from one thread
    or under one lock). A LiDAR-driven frame has ``image`` None, ``image_stamp`` = the cloud's
    stamp and reason ``lidar_driven``.

    Args:
        config: timing and trigger.
        clock: returns "now" in seconds (monotonic within a run).
        needs_image: whether the serving model needs an image (``auto`` then stays
            image-driven); the node updates it when the model changes.

    Example:
        >>> clock = iter([0.0, 0.0, 0.0, 1.0, 1.0]).__next__
        >>> sync = TriggeredSync(SyncConfig(trigger="lidar"), clock, needs_image=False)
        >>> [(f.image, f.cloud_stamp, str(f.reason)) for f in sync.add_cloud(5.0, "scan")]
        [(None, 5.0, 'lidar_driven')]
    """

    def __init__(self, config: SyncConfig, clock: Callable[[], float], *,
                 needs_image: bool = True) -> None:
        self.config = config
        self.needs_image = needs_image
        self.images: ImageDrivenSync[ImageT | None, CloudT] = ImageDrivenSync(config, clock)
        self._clock = clock
        self._last_image_arrival: float | None = None
        self._first_cloud_arrival: float | None = None
        self._last_image_stamp: float | None = None
        self._pending: tuple[float, CloudT] | None = None  # newest cloud not yet served alone
        self.ignored_images = 0

    @property
    def resets(self) -> int:
        """Times stamps went backwards (the image-driven policy's count)."""
        return self.images.resets

    @property
    def unmatched(self) -> int:
        """Images released without a cloud within ``slop`` after ``max_wait``."""
        return self.images.unmatched

    def lidar_age(self) -> float:
        """Seconds since the last cloud arrived (see :meth:`ImageDrivenSync.lidar_age`)."""
        return self.images.lidar_age()

    def lidar_alive(self) -> bool:
        """False once no cloud has arrived for ``lidar_timeout`` (image-driven dropout)."""
        return self.images.lidar_alive()

    def lidar_driven(self) -> bool:
        """Whether clouds release the frames now (see the module docstring for the rule)."""
        trigger = self.config.trigger
        if trigger == Trigger.LIDAR:
            return True
        if trigger == Trigger.IMAGE or self.needs_image:
            return False
        since = self._last_image_arrival if self._last_image_arrival is not None \
            else self._first_cloud_arrival
        return since is not None and self._clock() - since >= self.config.image_timeout

    def add_image(self, stamp: float, image: ImageT) -> list[SyncedFrame[ImageT | None, CloudT]]:
        """Offer an image (ignored and counted under ``trigger: lidar``); returns what is
        released now."""
        if self.config.trigger == Trigger.LIDAR:
            self.ignored_images += 1
            return []
        self._last_image_arrival = self._clock()
        self._last_image_stamp = stamp
        self._pending = None
        return self.images.add_image(stamp, image)

    def add_cloud(self, stamp: float, cloud: CloudT) -> list[SyncedFrame[ImageT | None, CloudT]]:
        """Offer a cloud; returns what is released now: an image it completes, and the cloud
        alone when frames are LiDAR-driven."""
        if self._first_cloud_arrival is None:
            self._first_cloud_arrival = self._clock()
        resets = self.images.resets
        released = self.images.add_cloud(stamp, cloud)
        if self.images.resets != resets:  # stamps went backwards: the last image is old
            self._last_image_stamp = None
        if not self.lidar_driven():
            self._pending = (stamp, cloud)
            return released
        self._pending = None
        self.images.forget_clouds_before(stamp)
        return [*released, self._alone(stamp, cloud)]

    def poll(self) -> list[SyncedFrame[ImageT | None, CloudT]]:
        """The image-driven policy's releases (``max_wait``, LiDAR timeout); at the switch to
        LiDAR-driven, the newest cloud no image can have used."""
        released = self.images.poll()
        if self._pending is not None and self.lidar_driven():
            stamp, cloud = self._pending
            self._pending = None
            last = self._last_image_stamp
            if last is None or stamp > last + self.config.slop:
                self.images.forget_clouds_before(stamp)
                released.append(self._alone(stamp, cloud))
        return released

    @staticmethod
    def _alone(stamp: float, cloud: CloudT) -> SyncedFrame[ImageT | None, CloudT]:
        return SyncedFrame(None, stamp, cloud, stamp, Pairing.LIDAR_DRIVEN)
