"""ROS 1 bags (``.bag`` files), read and written with ``rosbags`` only, as ROS 2 messages.

Reading: rosbags' ``AnyReader`` opens the bag and builds its type store from the message
definitions the bag carries; each message is then re-serialised as the ROS 2 CDR of the message
of the same type name (``sensor_msgs/msg/Image`` ...), so everything downstream (decoding,
replay through rclpy, header stamps) sees one format. Types whose layout is the same in both
(Image, CompressedImage, CameraInfo, PointCloud2, TFMessage: the ROS 1 header's ``seq`` is
dropped) are converted byte-wise (``ros1_to_cdr``), others field by field (rosbags' migration:
same names, or same types in order). The legacy ``tf/tfMessage`` is read as
``tf2_msgs/msg/TFMessage``. A type with no ROS 2 definition here (a driver's own packets) is
not readable: :func:`ros2_type` says why.

Writing: :func:`to_ros1` turns a ROS 2 (rosbags) message into the ROS 1 bytes of the same type
(``seq`` 0), for :class:`rosbags.rosbag1.Writer` with :data:`ROS1_TYPESTORE`. A ROS 1 bag has no
custom metadata (rosbag2's ``custom_data``): the bags written here carry it as one
std_msgs/String message on :data:`METADATA_TOPIC`, a JSON object (:func:`metadata_message`).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rosbags.convert.converter import is_same_wireformat, migrate_bytes
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from depth_completion_ros.bag.messages import TYPESTORE
from depth_completion_ros.errors import DataFormatError

#: message definitions of ROS 1 Noetic (rosbags names: ``sensor_msgs/msg/Image``), for writing;
#: rosbags' Noetic store lacks tf2_msgs/TFMessage, added from its ROS 1 definition
ROS1_TYPESTORE = get_typestore(Stores.ROS1_NOETIC)
ROS1_TYPESTORE.register(get_types_from_msg("geometry_msgs/TransformStamped[] transforms",
                                           "tf2_msgs/msg/TFMessage"))
#: ROS 1 type -> the ROS 2 type it is read as (besides the same name)
RENAMES = {"tf/msg/tfMessage": "tf2_msgs/msg/TFMessage"}
#: file suffix of a ROS 1 bag
SUFFIX = ".bag"
#: topic of the std_msgs/String holding a ROS 1 bag's metadata (JSON of rosbag2's custom_data)
METADATA_TOPIC = "/depth_completion_ros/metadata"


def is_ros1_bag(path: str | Path) -> bool:
    """True for a ROS 1 bag: a ``.bag`` path that is not a folder (a rosbag2 bag is a folder or
    a ``.mcap`` / ``.db3`` file)."""
    path = Path(path)
    return path.suffix == SUFFIX and not path.is_dir()


@contextmanager
def open_ros1(path: str | Path) -> Iterator[AnyReader]:
    """Open a ROS 1 bag for reading (its type store built from its own message definitions).

    Raises:
        DataFormatError: the bag is missing or not a readable ROS 1 bag.
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"bag not found: {path}")
    try:
        reader = AnyReader([path])
        reader.open()
    except Exception as err:  # rosbags raises its own reader / type errors
        raise DataFormatError(f"cannot open ROS 1 bag {path}: {err}") from err
    try:
        yield reader
    finally:
        reader.close()


def ros2_type(msgtype: str) -> str:
    """The ROS 2 type a ROS 1 type is read as (the same name, or :data:`RENAMES`)."""
    return RENAMES.get(msgtype, msgtype)


def cdr_converter(source: Typestore, msgtype: str) -> Callable[[bytes], bytes]:
    """A function turning ROS 1 bytes of ``msgtype`` (defined in ``source``, the bag's type
    store) into the ROS 2 CDR of :func:`ros2_type` in the package's type store.

    Raises:
        DataFormatError: the type has no ROS 2 definition, or its layout cannot be converted.
    """
    target = ros2_type(msgtype)
    if target not in TYPESTORE.fielddefs:
        raise DataFormatError(f"ROS 1 type {msgtype} has no ROS 2 definition here (only standard "
                              "ROS 2 message packages are known)")
    try:
        same = is_same_wireformat(source, TYPESTORE, msgtype, target)
    except Exception as err:  # a nested type missing on one side
        raise DataFormatError(f"ROS 1 type {msgtype} cannot be converted to {target}: "
                              f"{err!r}") from err
    if same:
        return lambda raw: bytes(TYPESTORE.ros1_to_cdr(raw, target))
    cache: dict[str, object] = {}
    return lambda raw: bytes(migrate_bytes(source, TYPESTORE, msgtype, target, cache, raw,
                                           src_is2=False, dst_is2=True))


def to_ros1(msg: Any) -> bytes:
    """A ROS 2 (rosbags) message -> the ROS 1 serialisation of the same type (``seq`` 0)."""
    msgtype = msg.__msgtype__
    return bytes(TYPESTORE.cdr_to_ros1(TYPESTORE.serialize_cdr(msg, msgtype), msgtype))


def metadata_message(custom: Mapping[str, str]) -> Any:
    """The std_msgs/String (a ROS 2 rosbags message) carrying ``custom`` as a JSON object."""
    return TYPESTORE.types["std_msgs/msg/String"](data=json.dumps(dict(custom), sort_keys=True))


def parse_metadata(msg: Any) -> dict[str, str]:
    """The metadata of a :data:`METADATA_TOPIC` message; empty when it is not a JSON object of
    strings (a topic of that name written by something else)."""
    try:
        value = json.loads(msg.data)
    except (TypeError, ValueError):
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return {}
    return {str(k): v for k, v in value.items()}
