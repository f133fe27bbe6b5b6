"""KITTI raw drive (official layout or the embedded sample's) -> rosbag2 (mcap, sqlite3) or a
ROS 1 ``.bag``, with ``rosbags`` only.

Topics (:func:`~depth_completion_ros.bag.topics.kitti_topics`): rgb8 images (or JPEG / PNG
``CompressedImage`` on ``<image>/compressed``, image_transport's convention), rectified camera
info (``P = [K | 0]``, ``R = I``, ``D = 0``), PointCloud2 with x, y, z, intensity and ring, and one
``/tf_static`` message with the pose of the camera's optical frame in ``velo_link``. Drives with
``timestamps.txt`` keep their real camera and LiDAR stamps; the sample layout has none, so 10 Hz
from :data:`ASSUMED_START_NS` is assumed, printed by the command and stored in the bag's
``custom_data`` under :data:`~depth_completion_ros.bag.topics.STAMPS_KEY` (a ROS 1 bag, which has
no such metadata, carries it on :data:`~depth_completion_ros.bag.ros1.METADATA_TOPIC`).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import StoragePlugin, Writer

from depth_completion_ros.arrays import Float64Array, UInt8Array
from depth_completion_ros.bag import messages
from depth_completion_ros.bag.ros1 import (
    METADATA_TOPIC,
    ROS1_TYPESTORE,
    SUFFIX,
    metadata_message,
    to_ros1,
)
from depth_completion_ros.bag.topics import (
    LIDAR_FRAME,
    SOURCE_KEY,
    STAMPS_KEY,
    camera_frame,
    compressed_topic,
    kitti_topics,
)
from depth_completion_ros.errors import DataFormatError, InputError
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_calib import KittiCalibration
from depth_completion_ros.io.kitti_raw import KittiFrame, KittiSequence, open_sequence

#: Stamp of frame 0 when a drive has no timestamps: 2011-09-26T00:00:00Z (KITTI's recording day).
ASSUMED_START_NS = 1_316_995_200 * 10**9
ASSUMED_PERIOD_NS = 100_000_000  # 10 Hz
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
#: every bag format written: the rosbag2 storages and ``ros1`` (a ``.bag`` file)
FORMATS = (*STORAGES, "ros1")
#: how images are written: sensor_msgs/Image rgb8, or CompressedImage JPEG / PNG
IMAGE_FORMATS = ("raw", "jpeg", "png")
_NO_TIME = QosTime(sec=0, nsec=0)
_TF_STATIC_QOS = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE,
                     QosDurability.TRANSIENT_LOCAL, _NO_TIME, _NO_TIME, QosLiveliness.AUTOMATIC,
                     _NO_TIME, False)


@dataclass(frozen=True)
class ConversionSummary:
    """What :func:`convert_kitti` wrote.

    Attributes:
        bag: the bag folder.
        frames: frames (image + cloud pairs) written.
        real_stamps: True when the drive's timestamps were used, False when 10 Hz was assumed.
        first_stamp_ns, last_stamp_ns: camera stamps of the first and last frame.
    """

    bag: Path
    frames: int
    real_stamps: bool
    first_stamp_ns: int
    last_stamp_ns: int
    storage: str = "mcap"
    image_topic: str = ""


def ros_lidar_to_camera(calibration: KittiCalibration, camera: int = 2) -> Float64Array:
    """(4, 4) LiDAR -> optical frame of camera ``camera`` for ``P = [K | 0]`` (ROS convention).

    KITTI's ``P_rect_0c = [K | K t]`` carries the offset of camera ``c`` from camera 0's rectified
    frame; ROS puts it into the transform instead: ``T = [I | t] @ R0_rect @ Tr_velo_to_cam`` with
    ``t = inv(K) @ P[:, 3]``, so ``[K | 0] @ T == P @ R0_rect @ Tr_velo_to_cam``.
    """
    if camera not in calibration.P_rect:
        raise InputError(f"{calibration.source}: no projection for camera {camera}")
    P = calibration.P_rect[camera]
    offset = np.eye(4)
    offset[:3, 3] = np.linalg.solve(P[:, :3], P[:, 3])
    return offset @ calibration.lidar_to_camera()


def frame_stamps(frame: KittiFrame, position: int) -> tuple[int, int]:
    """(camera, LiDAR) stamps in ns: the drive's own, else 10 Hz from ``ASSUMED_START_NS``."""
    if frame.image_stamp_ns is not None and frame.lidar_stamp_ns is not None:
        return frame.image_stamp_ns, frame.lidar_stamp_ns
    stamp = ASSUMED_START_NS + position * ASSUMED_PERIOD_NS
    return stamp, stamp


def bag_format(out_bag: str | Path, storage: str | None) -> str:
    """The format to write: ``storage``, else ``ros1`` for a ``.bag`` name and ``mcap`` otherwise.

    Raises:
        InputError: an unknown format, a rosbag2 storage for a ``.bag`` name or ``ros1`` for
            another name (readers tell a ROS 1 bag by its ``.bag`` suffix).
    """
    is_bag = Path(out_bag).suffix == SUFFIX
    chosen = storage or ("ros1" if is_bag else "mcap")
    if chosen not in FORMATS:
        raise InputError(f"storage must be one of {list(FORMATS)}, got {chosen!r}")
    if is_bag != (chosen == "ros1"):
        raise InputError(f"output {out_bag}: a ROS 1 bag is a file named *{SUFFIX} and only a "
                         f"ROS 1 bag is (storage {chosen!r})")
    return chosen


def convert_kitti(kitti_dir: str | Path, out_bag: str | Path, *, storage: str | None = None,
                  camera: int = 2, drive: str | None = None, max_frames: int | None = None,
                  image_format: str = "raw", jpeg_quality: int = 95) -> ConversionSummary:
    """Write a KITTI raw drive into a new rosbag2 folder or ROS 1 bag file.

    Args:
        kitti_dir: drive folder, date folder (``drive`` picks one of several) or a sample folder
            with ``calib.txt``.
        out_bag: the bag folder (or, ROS 1, ``*.bag`` file) to create (must not exist).
        storage: ``"mcap"``, ``"sqlite3"`` or ``"ros1"``; None: ros1 for a ``.bag`` name, else
            mcap (see :func:`bag_format`).
        camera: KITTI colour camera, 2 (left) or 3 (right).
        drive: part of the drive folder name when ``kitti_dir`` holds several.
        max_frames: convert only the first frames (all when None).
        image_format: ``"raw"`` (sensor_msgs/Image rgb8 on the image topic), ``"jpeg"`` or
            ``"png"`` (sensor_msgs/CompressedImage on ``<image topic>/compressed``).
        jpeg_quality: JPEG quality, 1-100 (image_transport's default, 95).

    Raises:
        InputError: unknown storage or image format, ``max_frames < 1`` or an existing
            ``out_bag``.
        DataFormatError / CalibrationError: unreadable KITTI data.
    """
    chosen = bag_format(out_bag, storage)
    if image_format not in IMAGE_FORMATS:
        raise InputError(f"image format must be one of {list(IMAGE_FORMATS)}, got "
                         f"{image_format!r}")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be >= 1, got {max_frames}")
    kitti_topics(camera)  # raises InputError for a camera other than 2 or 3
    out_bag = Path(out_bag)
    if out_bag.exists():
        raise InputError(f"output bag {out_bag} exists already; not overwriting")
    sequence = open_sequence(kitti_dir, drive=drive, cam=camera)
    real = sequence.image_stamps_ns is not None and sequence.lidar_stamps_ns is not None
    image = _ImageWriter(image_format, jpeg_quality)
    with _open_sink(out_bag, chosen) as sink:
        sink.set_metadata(STAMPS_KEY, "timestamps.txt of the drive" if real else
                          "none in the source: 10 Hz assumed from 2011-09-26T00:00:00Z")
        stamps = _write_frames(sink, sequence, camera, max_frames, image)
    return ConversionSummary(out_bag, len(stamps), real, stamps[0], stamps[-1], chosen,
                             image.topic(kitti_topics(camera).image))


class _Sink(Protocol):
    """Where messages go: a rosbag2 or ROS 1 writer behind one interface."""

    def add(self, topic: str, msgtype: str, *, latched: bool = False) -> Any: ...

    def write(self, connection: Any, stamp_ns: int, msg: Any) -> None: ...

    def set_metadata(self, key: str, value: str) -> None: ...


class _Rosbag2Sink:
    """rosbag2 (CDR; latched = transient-local QoS; metadata in ``custom_data``)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def add(self, topic: str, msgtype: str, *, latched: bool = False) -> Any:
        return self._writer.add_connection(topic, msgtype, typestore=messages.TYPESTORE,
                                           offered_qos_profiles=[_TF_STATIC_QOS] if latched
                                           else [])

    def write(self, connection: Any, stamp_ns: int, msg: Any) -> None:
        self._writer.write(connection, stamp_ns,
                           messages.TYPESTORE.serialize_cdr(msg, msg.__msgtype__))

    def set_metadata(self, key: str, value: str) -> None:
        self._writer.set_custom_data(key, value)


class _Ros1Sink:
    """ROS 1 bag (ROS 1 serialisation, Noetic definitions; latched connection; the metadata as
    one message on :data:`~depth_completion_ros.bag.ros1.METADATA_TOPIC`, written by
    :meth:`finish` at the first message's time)."""

    def __init__(self, writer: Ros1Writer) -> None:
        self._writer = writer
        self._metadata: dict[str, str] = {}
        self._first_ns: int | None = None

    def add(self, topic: str, msgtype: str, *, latched: bool = False) -> Any:
        return self._writer.add_connection(topic, msgtype, typestore=ROS1_TYPESTORE,
                                           latching=1 if latched else None)

    def write(self, connection: Any, stamp_ns: int, msg: Any) -> None:
        self._first_ns = stamp_ns if self._first_ns is None else min(self._first_ns, stamp_ns)
        self._writer.write(connection, stamp_ns, to_ros1(msg))

    def set_metadata(self, key: str, value: str) -> None:
        self._metadata[key] = value

    def finish(self) -> None:
        """Write the metadata message (when there is metadata and a message to date it by)."""
        if self._metadata and self._first_ns is not None:
            self.write(self.add(METADATA_TOPIC, "std_msgs/msg/String", latched=True),
                       self._first_ns, metadata_message(self._metadata))


@contextmanager
def _open_sink(out_bag: Path, storage: str) -> Iterator[_Sink]:
    """An open writer of ``storage`` for ``out_bag``, closed (and finished) after the block."""
    if storage == "ros1":
        with Ros1Writer(out_bag) as ros1:
            sink = _Ros1Sink(ros1)
            yield sink
            sink.finish()
        return
    with Writer(out_bag, version=8, storage_plugin=STORAGES[storage]) as writer:
        yield _Rosbag2Sink(writer)


class _ImageWriter:
    """The image message of a frame: rgb8 Image, or CompressedImage (JPEG / PNG)."""

    def __init__(self, image_format: str, jpeg_quality: int) -> None:
        self.image_format, self.quality = image_format, jpeg_quality

    @property
    def msgtype(self) -> str:
        return "sensor_msgs/msg/Image" if self.image_format == "raw" else \
            "sensor_msgs/msg/CompressedImage"

    def topic(self, image_topic: str) -> str:
        """The topic: the image topic, or its ``/compressed`` sibling."""
        return image_topic if self.image_format == "raw" else compressed_topic(image_topic)

    def message(self, rgb: UInt8Array, stamp_ns: int, frame_id: str) -> Any:
        if self.image_format == "raw":
            return messages.rgb_image(rgb, stamp_ns, frame_id)
        return messages.compressed_image(rgb, stamp_ns, frame_id, self.image_format,
                                         self.quality)


def _write_frames(sink: _Sink, sequence: KittiSequence, camera: int, max_frames: int | None,
                  image: _ImageWriter) -> list[int]:
    """Write the static tf, then every frame's image, camera info and cloud; camera stamps."""
    topics, optical = kitti_topics(camera), camera_frame(camera)
    # in write order: a ROS 1 reader orders messages of the same time by connection
    tf_conn = sink.add(topics.tf_static, "tf2_msgs/msg/TFMessage", latched=True)
    conns = {name: sink.add(topic, msgtype) for name, topic, msgtype in (
        ("points", topics.points, "sensor_msgs/msg/PointCloud2"),
        ("info", topics.camera_info, "sensor_msgs/msg/CameraInfo"),
        ("image", image.topic(topics.image), image.msgtype))}
    T = ros_lidar_to_camera(sequence.calibration, camera)
    sources, stamps = [], []
    for position in range(min(len(sequence), max_frames or len(sequence))):
        frame = sequence.frame(position)
        cam_ns, lidar_ns = frame_stamps(frame, position)
        if position == 0:
            first = min(cam_ns, lidar_ns)
            sink.write(tf_conn, first, messages.static_transform(np.linalg.inv(T), LIDAR_FRAME,
                                                                 optical, first))
        height, width = frame.image.shape[:2]
        K = sequence.calibration.camera(camera, width, height).intrinsics(rectified=True)
        for conn, stamp, msg in (
                (conns["points"], lidar_ns, messages.point_cloud(
                    frame.points, estimate_rings(frame.points), lidar_ns, LIDAR_FRAME)),
                (conns["info"], cam_ns, messages.rectified_camera_info(
                    width, height, K, cam_ns, optical)),
                (conns["image"], cam_ns, image.message(frame.image, cam_ns, optical))):
            sink.write(conn, stamp, msg)
        sources.append(str(frame.index))
        stamps.append(cam_ns)
    if not stamps:
        raise DataFormatError(f"{sequence.root}: no frames to convert")
    sink.set_metadata(SOURCE_KEY, "kitti frames " + ",".join(sources))
    return stamps
