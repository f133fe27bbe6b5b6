"""Frames of a bag as the node would see them: the node's sync policy fed in bag order.

Messages are replayed through :class:`~depth_completion_ros.sync.policy.ImageDrivenSync` with the
bag's receive times as the clock (deterministic), decoded with the node's duck-typed
:mod:`~depth_completion_ros.decoding`, so offline evaluation pairs images and clouds
exactly like the live node does at real-time speed.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from depth_completion_ros.bag.messages import stamp_to_ns
from depth_completion_ros.bag.reading import BagMessage, iter_messages
from depth_completion_ros.bag.topics import BagTopics
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.decoding import camera_info_fields, cloud_to_points, image_to_rgb
from depth_completion_ros.sync.policy import ImageDrivenSync, SyncConfig, SyncedFrame


@dataclass(frozen=True)
class EvalFrame:
    """One image released by the sync policy, decoded.

    Attributes:
        index: position of the image in the bag (0-based).
        stamp_ns: image header stamp, nanoseconds.
        rgb: (H, W, 3) uint8 RGB.
        camera: the image's camera (from the camera info with the same stamp, else the latest).
        points: (N, 3) float32 metres in the LiDAR frame, or None (no cloud paired).
        ring: (N,) int32 ring per point from the cloud's ``ring`` field, or None.
        cloud_stamp_ns: stamp of the paired cloud, or None.
        reason: the sync policy's reason ("matched", "lidar_timeout", "unmatched").
    """

    index: int
    stamp_ns: int
    rgb: np.ndarray
    camera: PinholeCamera
    points: np.ndarray | None
    ring: np.ndarray | None
    cloud_stamp_ns: int | None
    reason: str


def iter_bag_frames(bag: str | Path, topics: BagTopics,
                    sync: SyncConfig | None = None) -> Iterator[EvalFrame]:
    """Decoded, paired frames of a bag in release order (see the module docstring).

    Raises:
        DataFormatError: a topic is missing, or an image has no camera info before it is
            released.
        InputError: a malformed message (from the conversions).
    """
    clock = _BagClock()
    policy: ImageDrivenSync[tuple[int, Any], BagMessage] = ImageDrivenSync(
        sync or SyncConfig(), clock)
    infos: OrderedDict[int, Any] = OrderedDict()
    pending: list[SyncedFrame] = []
    count = 0
    for message in iter_messages(bag, [topics.image, topics.camera_info, topics.points]):
        clock.now = message.log_time_ns / 1e9
        pending += policy.poll()
        decoded = message.decode()
        stamp = stamp_to_ns(decoded.header.stamp)
        if message.topic == topics.camera_info:
            infos[stamp] = decoded
            while len(infos) > 32:
                infos.popitem(last=False)
        elif message.topic == topics.points:
            pending += policy.add_cloud(stamp / 1e9, message)
        else:
            ready, pending = pending, []  # a new image: earlier ones take the latest info
            yield from (_decode(frame, infos, bag) for frame in ready)
            pending += policy.add_image(stamp / 1e9, (count, decoded))
            count += 1
        ready = [f for f in pending if stamp_to_ns(f.image[1].header.stamp) in infos]
        pending = [f for f in pending if f not in ready]
        yield from (_decode(frame, infos, bag) for frame in ready)
    clock.now += policy.config.max_wait + 1e-3  # the last image waited its max_wait
    yield from (_decode(frame, infos, bag) for frame in pending + policy.poll())


class _BagClock:
    """The sync policy's clock: the receive time of the message being handled, seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _decode(frame: SyncedFrame, infos: OrderedDict[int, Any], bag: str | Path) -> EvalFrame:
    index, image = frame.image
    stamp = stamp_to_ns(image.header.stamp)
    info = infos.get(stamp) or (next(reversed(infos.values())) if infos else None)
    if info is None:
        raise DataFormatError(f"bag {bag}: image {index} (stamp {stamp} ns) has no camera info")
    camera = PinholeCamera.from_camera_info(**camera_info_fields(info))
    points = ring = cloud_stamp = None
    if frame.cloud is not None:
        cloud_msg = frame.cloud.decode()
        cloud = cloud_to_points(cloud_msg)
        points, ring, cloud_stamp = cloud.xyz, cloud.ring, stamp_to_ns(cloud_msg.header.stamp)
    return EvalFrame(index, stamp, image_to_rgb(image), camera, points, ring, cloud_stamp,
                     frame.reason)
