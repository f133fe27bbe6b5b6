"""Read bags with the pure-Python ``rosbags`` library: messages, stamps, metadata, tf.

ROS 2 bags (a rosbag2 folder, or a single ``.mcap`` / ``.db3`` file) and ROS 1 bags (a ``.bag``
file) alike: a ROS 1 bag's messages come out as the ROS 2 CDR of the same type
(:mod:`depth_completion_ros.bag.ros1`), so decoding, replay and header stamps see one format.
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
from rosbags.interfaces import (
    Connection,
    ConnectionExtRosbag2,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import Reader

from depth_completion_ros.arrays import Float64Array
from depth_completion_ros.bag.messages import TYPESTORE, quaternion_to_rotation
from depth_completion_ros.bag.ros1 import (
    METADATA_TOPIC,
    cdr_converter,
    is_ros1_bag,
    open_ros1,
    parse_metadata,
    ros2_type,
)
from depth_completion_ros.bag.topics import compressed_topic
from depth_completion_ros.errors import CalibrationError, DataFormatError

_NO_TIME = QosTime(sec=0, nsec=0)
#: the QoS a latched ROS 1 topic (``/tf_static``) is offered with when it becomes ROS 2
LATCHED_QOS = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE,
                  QosDurability.TRANSIENT_LOCAL, _NO_TIME, _NO_TIME, QosLiveliness.AUTOMATIC,
                  _NO_TIME, False)


@dataclass(frozen=True)
class BagMessage:
    """One message of a bag.

    Attributes:
        topic: topic name in the bag.
        msgtype: ROS type name, e.g. ``sensor_msgs/msg/Image``.
        log_time_ns: the time the recorder received it (nanoseconds).
        raw: the CDR-serialised bytes as stored (a ROS 1 message: converted to CDR).
        error: why a ROS 1 message could not be converted to CDR (``raw`` is then empty), or
            None; :meth:`decode` raises it, replay skips the message.
    """

    topic: str
    msgtype: str
    log_time_ns: int
    raw: bytes
    error: str | None = None

    def decode(self) -> Any:
        """The deserialised message (a rosbags dataclass with the ROS field names)."""
        if self.error is not None:
            raise DataFormatError(f"cannot decode {self.msgtype} on {self.topic}: {self.error}")
        try:
            return TYPESTORE.deserialize_cdr(self.raw, self.msgtype)
        except Exception as err:  # rosbags raises its own errors for unknown / broken types
            raise DataFormatError(f"cannot decode {self.msgtype} on {self.topic}: {err}") from err


@dataclass(frozen=True)
class BagTopic:
    """A topic of a bag, readable as ROS 2 messages.

    Attributes:
        name: the topic.
        msgtype: its ROS 2 type (a ROS 1 type's counterpart, see :mod:`~.ros1`).
        offered_qos: the QoS profiles it was recorded with (rosbag2), or transient local for a
            latched ROS 1 topic, else none.
    """

    name: str
    msgtype: str
    offered_qos: tuple[Qos, ...] = ()


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """Open a rosbag2 folder (or a single .mcap / .db3 file) for reading; a ROS 1 ``.bag`` is
    read through :func:`iter_messages` / :func:`readable_topics` instead."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"bag not found: {path}")
    if is_ros1_bag(path):
        raise DataFormatError(f"{path} is a ROS 1 bag: it has no rosbag2 reader")
    try:
        reader = Reader(path)
        reader.open()
    except Exception as err:
        raise DataFormatError(f"cannot open bag {path}: {err}") from err
    try:
        yield reader
    finally:
        reader.close()


def readable_topics(path: str | Path) -> list[BagTopic]:
    """The bag's topics readable as ROS 2 messages (every topic of a ROS 2 bag; of a ROS 1 bag
    those with a ROS 2 type, see :func:`unreadable_topics`), in connection order."""
    if is_ros1_bag(path):
        with open_ros1(path) as reader:
            converters, _ = _ros1_converters(reader)
            return list({c.topic: BagTopic(c.topic, ros2_type(c.msgtype), _ros1_qos(c))
                         for c in reader.connections if c.id in converters}.values())
    with open_bag(path) as reader:
        return list({c.topic: BagTopic(c.topic, c.msgtype, _rosbag2_qos(c))
                     for c in reader.connections}.values())


def unreadable_topics(path: str | Path) -> dict[str, str]:
    """Topic -> why it cannot be read as ROS 2 messages (ROS 1 types without a ROS 2
    definition here, e.g. a driver's raw packets); empty for a ROS 2 bag."""
    if not is_ros1_bag(path):
        return {}
    with open_ros1(path) as reader:
        return _ros1_converters(reader)[1]


def bag_topics(path: str | Path) -> dict[str, str]:
    """Topic -> (ROS 2) message type of every topic readable as ROS 2 messages."""
    return {topic.name: topic.msgtype for topic in readable_topics(path)}


def custom_metadata(path: str | Path) -> dict[str, str]:
    """The bag's ``custom_data`` (metadata.yaml), empty when it has none or is a bare file; of
    a ROS 1 bag (no such metadata), what ``depth-completion convert`` stored on
    :data:`~.ros1.METADATA_TOPIC`, else empty."""
    if is_ros1_bag(path):
        if METADATA_TOPIC not in bag_topics(path):
            return {}
        for message in iter_messages(path, [METADATA_TOPIC]):
            return parse_metadata(message.decode())
        return {}
    with open_bag(path) as reader:
        return dict(reader.storage.metadata.custom or {})


def iter_messages(path: str | Path, topics: Sequence[str] = ()) -> Iterator[BagMessage]:
    """Messages of ``topics`` (all when empty) in bag order.

    A ROS 1 bag's messages are converted to ROS 2 CDR (:mod:`~.ros1`); with no ``topics``, its
    topics without a ROS 2 type are left out (:func:`unreadable_topics`).

    Raises:
        DataFormatError: a requested topic is not in the bag (the message lists those present)
            or cannot be read as ROS 2 messages (the message says why).
    """
    if is_ros1_bag(path):
        yield from _iter_ros1(path, topics)
        return
    with open_bag(path) as reader:
        _check_present(path, topics, {c.topic for c in reader.connections}, {})
        wanted = [c for c in reader.connections if not topics or c.topic in topics]
        for connection, log_time, raw in reader.messages(connections=wanted):
            yield BagMessage(connection.topic, connection.msgtype, log_time, bytes(raw))


def _iter_ros1(path: str | Path, topics: Sequence[str]) -> Iterator[BagMessage]:
    """:func:`iter_messages` of a ROS 1 bag: each message converted to CDR (a message that
    fails to convert comes with its ``error``, as a broken CDR message fails to decode)."""
    with open_ros1(path) as reader:
        converters, reasons = _ros1_converters(reader)
        _check_present(path, topics, {c.topic for c in reader.connections
                                      if c.id in converters}, reasons)
        wanted = [c for c in reader.connections
                  if c.id in converters and (not topics or c.topic in topics)]
        for connection, log_time, raw in reader.messages(connections=wanted):
            msgtype = ros2_type(connection.msgtype)
            try:
                cdr = converters[connection.id](raw)
            except Exception as err:  # rosbags' serde on truncated or corrupt ROS 1 bytes
                yield BagMessage(connection.topic, msgtype, log_time, b"",
                                 f"ROS 1 message cannot be converted to CDR: {err!r}")
                continue
            yield BagMessage(connection.topic, msgtype, log_time, cdr)


def _check_present(path: str | Path, topics: Sequence[str], present: set[str],
                   unreadable: dict[str, str]) -> None:
    """DataFormatError naming the requested topics that are missing or unreadable."""
    missing = [t for t in topics if t not in present]
    if not missing:
        return
    why = "; ".join(f"{t}: {unreadable[t]}" for t in missing if t in unreadable)
    raise DataFormatError(f"bag {path} has no topic {', '.join(missing)}"
                          + (f" readable as ROS 2 messages ({why})" if why else "")
                          + f"; it has: {', '.join(sorted(present))}")


def _ros1_converters(reader: Any) -> tuple[dict[int, Any], dict[str, str]]:
    """(connection id -> ROS 1 -> CDR converter, topic -> why it has none) of an open ROS 1
    bag (an ``AnyReader``)."""
    converters: dict[int, Any] = {}
    reasons: dict[str, str] = {}
    for connection in reader.connections:
        try:
            converters[connection.id] = cdr_converter(reader.typestore, connection.msgtype)
        except DataFormatError as err:
            reasons[connection.topic] = str(err)
    return converters, reasons


def _ros1_qos(connection: Connection) -> tuple[Qos, ...]:
    """Transient local for a latched ROS 1 connection (``/tf_static``), else none."""
    return (LATCHED_QOS,) if getattr(connection.ext, "latching", 0) else ()


def _rosbag2_qos(connection: Connection) -> tuple[Qos, ...]:
    """The QoS profiles a rosbag2 connection was recorded with."""
    ext = connection.ext
    return tuple(ext.offered_qos_profiles) if isinstance(ext, ConnectionExtRosbag2) else ()


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


def resolve_image_topic(path: str | Path, topic: str) -> str:
    """``topic`` when the bag has it, else its compressed images ``<topic>/compressed`` when the
    bag has those (image_transport's convention: the default ``.../image_raw`` finds a bag
    recorded with ``.../image_raw/compressed``), else ``topic`` (reading it then says which
    topics the bag has)."""
    topics = bag_topics(path)
    compressed = compressed_topic(topic)
    return compressed if topic not in topics and compressed in topics else topic
