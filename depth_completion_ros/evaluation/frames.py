"""Frames of a bag as the node would see them: the node's sync policy fed in bag order.

Messages are replayed through :class:`~depth_completion_ros.sync.policy.ImageDrivenSync` with the
bag's receive times as the clock (deterministic), decoded with the node's duck-typed
:mod:`~depth_completion_ros.decoding`, so offline evaluation pairs images and clouds
exactly like the live node does at real-time speed. Like the node, a malformed message is
rejected on arrival and the bag goes on; it is yielded as a :class:`BadMessage` for the report.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.arrays import Float32Array, IntArray, UInt8Array
from depth_completion_ros.bag.messages import stamp_to_ns
from depth_completion_ros.bag.reading import BagMessage, header_stamp_ns, iter_messages
from depth_completion_ros.bag.topics import BagTopics
from depth_completion_ros.checks import check_image
from depth_completion_ros.compressed_image import message_to_rgb
from depth_completion_ros.decoding import PointCloud, camera_info_to_camera, cloud_to_points
from depth_completion_ros.errors import DataFormatError, DepthCompletionError, InputError
from depth_completion_ros.evaluation.ground_truth import bag_frame_numbers
from depth_completion_ros.geometry.camera import PinholeCamera
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
        source_frame: the KITTI frame number of the image, from the metadata ``depth-completion
            convert`` writes (:func:`~depth_completion_ros.evaluation.ground_truth.
            bag_frame_numbers`: one number per image, in bag order, so the image at position
            ``index`` is entry ``index``), or None for a bag without it.
    """

    index: int
    stamp_ns: int
    rgb: UInt8Array
    camera: PinholeCamera
    points: Float32Array | None
    ring: IntArray | None
    cloud_stamp_ns: int | None
    reason: str
    source_frame: int | None = None


@dataclass(frozen=True)
class BadMessage:
    """A message the decoders reject, as the node rejects it: skipped, reported, not a frame.

    Attributes:
        index: the image's position in the bag when the message is an image, else -1.
        stamp_ns: header stamp, nanoseconds (the receive time when the header is unreadable).
        topic: the message's topic.
        reason: topic and the decoder's error, e.g. ``"/velo: PointCloud2.data: ... (truncated)"``.
    """

    index: int
    stamp_ns: int
    topic: str
    reason: str


def iter_bag_frames(bag: str | Path, topics: BagTopics,
                    sync: SyncConfig | None = None) -> Iterator[EvalFrame | BadMessage]:
    """Decoded, paired frames of a bag in release order (see the module docstring).

    Every message is decoded and checked when it arrives, as the node does in its callbacks: one
    the decoders reject (broken CDR, truncated data, unsupported encoding, bad camera info) is
    yielded as a :class:`BadMessage` when it arrives, kept out of the pairing, and the bag goes
    on. A bad image keeps its position, so later images keep theirs.

    Raises:
        DataFormatError: a topic is missing, or an image has no valid camera info at all.
    """
    clock = _BagClock()
    policy: ImageDrivenSync[_Image, _Cloud] = ImageDrivenSync(sync or SyncConfig(), clock)
    cameras: OrderedDict[int, PinholeCamera] = OrderedDict()
    pending: list[SyncedFrame[_Image, _Cloud]] = []
    sources = bag_frame_numbers(bag)
    count = 0
    for message in iter_messages(bag, [topics.image, topics.camera_info, topics.points]):
        clock.now = message.log_time_ns / 1e9
        pending += policy.poll()
        is_image = message.topic == topics.image
        index, count = (count, count + 1) if is_image else (-1, count)
        payload: PinholeCamera | PointCloud | UInt8Array | None = None
        try:
            stamp, payload = _decode_message(message, topics)
        except DepthCompletionError as err:
            yield _bad_message(message, index, err)
        if isinstance(payload, PinholeCamera):
            cameras[stamp] = payload
            while len(cameras) > 32:
                cameras.popitem(last=False)
        elif isinstance(payload, PointCloud):
            pending += policy.add_cloud(stamp / 1e9, _Cloud(stamp, payload))
        elif payload is not None:
            ready, pending = pending, []  # a new image: earlier ones take the latest info
            yield from (_frame(frame, cameras, bag, topics, sources) for frame in ready)
            pending += policy.add_image(stamp / 1e9, _Image(index, stamp, payload))
        ready = [f for f in pending if f.image.stamp_ns in cameras]
        pending = [f for f in pending if f not in ready]
        yield from (_frame(frame, cameras, bag, topics, sources) for frame in ready)
    clock.now += policy.config.max_wait + 1e-3  # the last image waited its max_wait
    yield from (_frame(frame, cameras, bag, topics, sources) for frame in pending + policy.poll())


class _BagClock:
    """The sync policy's clock: the receive time of the message being handled, seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class _Image:
    """An image checked on arrival: position in the bag, stamp (ns), (H, W, 3) uint8 RGB."""

    index: int
    stamp_ns: int
    rgb: UInt8Array


@dataclass(frozen=True)
class _Cloud:
    """A cloud decoded on arrival: stamp (ns) and its points."""

    stamp_ns: int
    cloud: PointCloud


def _decode_message(message: BagMessage, topics: BagTopics
                    ) -> tuple[int, PinholeCamera | PointCloud | UInt8Array]:
    """(header stamp ns, camera / points / RGB) of one message, checked like the node does.

    Raises:
        DataFormatError: broken CDR. InputError: the decoders reject the content.
    """
    decoded = message.decode()
    stamp = stamp_to_ns(decoded.header.stamp)
    if message.topic == topics.camera_info:
        return stamp, camera_info_to_camera(decoded)
    if message.topic == topics.points:
        return stamp, cloud_to_points(decoded)
    return stamp, message_to_rgb(decoded)  # Image or CompressedImage (JPEG, PNG)


def _bad_message(message: BagMessage, index: int, err: Exception) -> BadMessage:
    """The report entry of a rejected message (stamp from its header when that is readable)."""
    try:
        stamp = header_stamp_ns(message.raw)
    except DataFormatError:
        stamp = message.log_time_ns
    return BadMessage(index, stamp, message.topic, f"{message.topic}: {err}")


def _frame(frame: SyncedFrame[_Image, _Cloud], cameras: OrderedDict[int, PinholeCamera],
           bag: str | Path, topics: BagTopics, sources: list[int] | None
           ) -> EvalFrame | BadMessage:
    """The released frame with its camera (same stamp, else the latest); an image whose size is
    not its camera's is a bad message (the node rejects it too)."""
    image = frame.image
    camera = cameras.get(image.stamp_ns)
    if camera is None and cameras:
        camera = next(reversed(cameras.values()))
    if camera is None:
        raise DataFormatError(f"bag {bag}: image {image.index} (stamp {image.stamp_ns} ns) has "
                              "no camera info")
    try:
        check_image(image.rgb, "Image", (camera.width, camera.height))
    except InputError as err:
        return BadMessage(image.index, image.stamp_ns, topics.image, f"{topics.image}: {err}")
    cloud = frame.cloud
    source = sources[image.index] if sources and image.index < len(sources) else None
    return EvalFrame(image.index, image.stamp_ns, image.rgb, camera,
                     None if cloud is None else cloud.cloud.xyz,
                     None if cloud is None else cloud.cloud.ring,
                     None if cloud is None else cloud.stamp_ns, frame.reason, source)
