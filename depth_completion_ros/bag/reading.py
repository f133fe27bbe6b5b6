"""Read rosbag2 bags with the pure-Python ``rosbags`` library: messages, stamps, metadata, tf.

No ROS needed. Errors from rosbags (missing bag, unknown storage, unknown message type) become
:class:`~depth_completion_ros.errors.DataFormatError` naming the bag and topic.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Reader

from depth_completion_ros.arrays import Float64Array
from depth_completion_ros.bag.messages import TYPESTORE, quaternion_to_rotation
from depth_completion_ros.errors import CalibrationError, DataFormatError


@dataclass(frozen=True)
class BagMessage:
    """One message of a bag.

    Attributes:
        topic: topic name in the bag.
        msgtype: ROS type name, e.g. ``sensor_msgs/msg/Image``.
        log_time_ns: the time the recorder received it (nanoseconds).
        raw: the CDR-serialised bytes as stored.
    """

    topic: str
    msgtype: str
    log_time_ns: int
    raw: bytes

    def decode(self) -> Any:
        """The deserialised message (a rosbags dataclass with the ROS field names)."""
        try:
            return TYPESTORE.deserialize_cdr(self.raw, self.msgtype)
        except Exception as err:  # rosbags raises its own errors for unknown / broken types
            raise DataFormatError(f"cannot decode {self.msgtype} on {self.topic}: {err}") from err


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """Open a rosbag2 folder (or a single .mcap / .db3 file) for reading."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"bag not found: {path}")
    try:
        reader = Reader(path)
        reader.open()
    except Exception as err:
        raise DataFormatError(f"cannot open bag {path}: {err}") from err
    try:
        yield reader
    finally:
        reader.close()


def bag_topics(path: str | Path) -> dict[str, str]:
    """Topic -> message type of every topic in the bag."""
    with open_bag(path) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def custom_metadata(path: str | Path) -> dict[str, str]:
    """The bag's ``custom_data`` (metadata.yaml), empty when it has none or is a bare file."""
    with open_bag(path) as reader:
        return dict(reader.storage.metadata.custom or {})


def iter_messages(path: str | Path, topics: Sequence[str] = ()) -> Iterator[BagMessage]:
    """Messages of ``topics`` (all when empty) in bag order.

    Raises:
        DataFormatError: a requested topic is not in the bag (the message lists those present).
    """
    with open_bag(path) as reader:
        present = {c.topic for c in reader.connections}
        missing = [t for t in topics if t not in present]
        if missing:
            raise DataFormatError(f"bag {path} has no topic {', '.join(missing)}; "
                                  f"it has: {', '.join(sorted(present))}")
        wanted = [c for c in reader.connections if not topics or c.topic in topics]
        for connection, log_time, raw in reader.messages(connections=wanted):
            yield BagMessage(connection.topic, connection.msgtype, log_time, bytes(raw))


def transform_matrix(transform: Any) -> Float64Array:
    """(4, 4) float64 matrix of a geometry_msgs/Transform (maps child points into the parent)."""
    r, t = transform.rotation, transform.translation
    T = np.eye(4)
    T[:3, :3] = quaternion_to_rotation(r.x, r.y, r.z, r.w)
    T[:3, 3] = (t.x, t.y, t.z)
    return T


def lidar_to_camera_from_tf(path: str | Path, lidar_frame: str, camera_frame: str,
                            tf_topic: str = "/tf_static") -> Float64Array:
    """The (4, 4) LiDAR -> camera transform stored in the bag's static tf (one edge, either way).

    Args:
        path: the bag.
        lidar_frame: frame id of the point clouds.
        camera_frame: frame id of the images.
        tf_topic: topic with tf2_msgs/TFMessage.

    Raises:
        CalibrationError: no direct transform between the two frames in the bag.
    """
    if tf_topic not in bag_topics(path):
        raise CalibrationError(
            f"bag {path} has no {tf_topic}: pass --lidar-to-camera or --calib")
    for message in iter_messages(path, [tf_topic]):
        for stamped in message.decode().transforms:
            parent, child = stamped.header.frame_id, stamped.child_frame_id
            if (parent, child) == (camera_frame, lidar_frame):
                return transform_matrix(stamped.transform)
            if (parent, child) == (lidar_frame, camera_frame):
                return np.asarray(np.linalg.inv(transform_matrix(stamped.transform)), np.float64)
    raise CalibrationError(
        f"{tf_topic} in bag {path} has no transform between {lidar_frame!r} and {camera_frame!r}")


def first_message(path: str | Path, topic: str) -> Any:
    """The first message on ``topic``, decoded.

    Raises:
        DataFormatError: the topic is missing or empty.
    """
    for message in iter_messages(path, [topic]):
        return message.decode()
    raise DataFormatError(f"bag {path}: topic {topic} has no message")


def header_stamp_ns(raw: bytes) -> int:
    """Header stamp (ns) of a CDR message whose first field is a std_msgs/Header.

    Reads only the 4-byte CDR encapsulation and the stamp's ``int32 sec`` / ``uint32 nanosec``
    that follow it (no full deserialisation, cheap for big images).

    Raises:
        DataFormatError: fewer than 12 bytes or an unknown encapsulation.
    """
    if len(raw) < 12 or raw[1] not in (0, 1):
        raise DataFormatError(f"not a CDR message with a header ({len(raw)} bytes)")
    order = "<" if raw[1] == 1 else ">"
    sec, nanosec = struct.unpack_from(f"{order}iI", raw, 4)
    return int(sec) * 1_000_000_000 + int(nanosec)
