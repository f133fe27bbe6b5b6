"""ROS 1 bags read as ROS 2 messages: written into tmp_path with rosbags' ROS 1 writer from the
embedded KITTI sample (Geiger et al., IJRR 2013, CC BY-NC-SA 3.0) and read back."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.typesys import get_types_from_msg

from depth_completion_ros.bag.convert import convert_kitti
from depth_completion_ros.bag.reading import (
    bag_topics,
    custom_metadata,
    iter_messages,
    lidar_to_camera_from_tf,
    readable_topics,
    unreadable_topics,
)
from depth_completion_ros.bag.ros1 import (
    METADATA_TOPIC,
    ROS1_TYPESTORE,
    is_ros1_bag,
    metadata_message,
    to_ros1,
)
from depth_completion_ros.bag.topics import SOURCE_KEY, camera_frame, kitti_topics
from depth_completion_ros.cli.main import main
from depth_completion_ros.errors import DataFormatError

TOPICS = kitti_topics(2)
R1 = ROS1_TYPESTORE.types


@pytest.fixture(scope="module")
def ros2_bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    bag = tmp_path_factory.mktemp("ros2") / "sample"
    convert_kitti(sample_dir, bag, storage="mcap")
    return bag


def copy_to_ros1(source: Path, target: Path) -> None:
    """Every message of the ROS 2 bag ``source`` into the ROS 1 bag ``target`` (same times,
    ``/tf_static`` latched), topics in the order of their first message (a ROS 1 reader orders
    messages of the same time by connection), the bag's metadata last."""
    with Ros1Writer(target) as writer:
        conns: dict[str, object] = {}
        for message in iter_messages(source):
            if message.topic not in conns:
                conns[message.topic] = writer.add_connection(
                    message.topic, message.msgtype, typestore=ROS1_TYPESTORE,
                    latching=1 if message.topic == "/tf_static" else None)
            writer.write(conns[message.topic], message.log_time_ns, to_ros1(message.decode()))
        metadata = writer.add_connection(METADATA_TOPIC, "std_msgs/msg/String",
                                         typestore=ROS1_TYPESTORE, latching=1)
        writer.write(metadata, 0, to_ros1(metadata_message(custom_metadata(source))))


@pytest.fixture(scope="module")
def ros1_bag(tmp_path_factory: pytest.TempPathFactory, ros2_bag: Path) -> Path:
    bag = tmp_path_factory.mktemp("ros1") / "sample.bag"
    copy_to_ros1(ros2_bag, bag)
    return bag


def test_a_ros1_bag_reads_as_the_same_cdr_messages(ros1_bag: Path, ros2_bag: Path) -> None:
    """Every message converts to the very CDR bytes of the ROS 2 bag, in the same order."""
    assert is_ros1_bag(ros1_bag) and not is_ros1_bag(ros2_bag)
    ros1 = [m for m in iter_messages(ros1_bag) if m.topic != METADATA_TOPIC]
    ros2 = list(iter_messages(ros2_bag))
    assert len(ros1) == len(ros2) == 13
    assert [(m.topic, m.msgtype, m.log_time_ns) for m in ros1] == \
        [(m.topic, m.msgtype, m.log_time_ns) for m in ros2]
    assert [m.raw for m in ros1] == [m.raw for m in ros2]
    assert bag_topics(ros1_bag) == {**bag_topics(ros2_bag),
                                    METADATA_TOPIC: "std_msgs/msg/String"}
    tf = {t.name: t.offered_qos for t in readable_topics(ros1_bag)}["/tf_static"]
    assert [q.durability.name for q in tf] == ["TRANSIENT_LOCAL"]  # latched -> transient local
    assert custom_metadata(ros1_bag) == custom_metadata(ros2_bag)
    assert custom_metadata(ros1_bag)[SOURCE_KEY] == "kitti frames 0,1,2,3"
    np.testing.assert_array_equal(
        lidar_to_camera_from_tf(ros1_bag, "velo_link", camera_frame(2)),
        lidar_to_camera_from_tf(ros2_bag, "velo_link", camera_frame(2)))


def _write_one(bag: Path, topic: str, msgtype: str, raw: bytes, store=ROS1_TYPESTORE) -> None:
    with Ros1Writer(bag) as writer:
        writer.write(writer.add_connection(topic, msgtype, typestore=store), 42, raw)


def test_ros1_field_names_and_header_seq_become_ros2s(tmp_path: Path) -> None:
    """A ROS 1 CameraInfo (D, K, R, P; header seq 7) reads as the ROS 2 one (d, k, r, p)."""
    header = R1["std_msgs/msg/Header"](
        seq=7, stamp=R1["builtin_interfaces/msg/Time"](sec=12, nanosec=345), frame_id="cam")
    roi = R1["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                 do_rectify=False)
    info = R1["sensor_msgs/msg/CameraInfo"](
        header=header, height=375, width=1242, distortion_model="plumb_bob",
        D=np.array([0.1, 0.0, 0.0, 0.0, 0.0]), K=np.arange(9.0), R=np.eye(3).ravel(),
        P=np.arange(12.0), binning_x=0, binning_y=0, roi=roi)
    _write_one(tmp_path / "info.bag", "/info", "sensor_msgs/msg/CameraInfo",
               ROS1_TYPESTORE.serialize_ros1(info, "sensor_msgs/msg/CameraInfo"))
    (message,) = iter_messages(tmp_path / "info.bag")
    decoded = message.decode()
    assert (decoded.header.stamp.sec, decoded.header.stamp.nanosec) == (12, 345)
    assert decoded.header.frame_id == "cam" and not hasattr(decoded.header, "seq")
    np.testing.assert_array_equal(decoded.d, [0.1, 0, 0, 0, 0])
    np.testing.assert_array_equal(decoded.k, np.arange(9.0))
    np.testing.assert_array_equal(decoded.p, np.arange(12.0))


def test_legacy_tf_message_is_read_as_tf2(tmp_path: Path, ros2_bag: Path) -> None:
    """tf/tfMessage (ROS 1 bags before tf2) reads as tf2_msgs/msg/TFMessage."""
    (tf,) = [m for m in iter_messages(ros2_bag, ["/tf_static"])]
    store = ROS1_TYPESTORE  # tf/tfMessage has the same definition as tf2_msgs/TFMessage
    store.register(get_types_from_msg("geometry_msgs/TransformStamped[] transforms",
                                      "tf/msg/tfMessage"))
    _write_one(tmp_path / "tf.bag", "/tf_static", "tf/msg/tfMessage", to_ros1(tf.decode()))
    assert bag_topics(tmp_path / "tf.bag") == {"/tf_static": "tf2_msgs/msg/TFMessage"}
    np.testing.assert_array_equal(
        lidar_to_camera_from_tf(tmp_path / "tf.bag", "velo_link", camera_frame(2)),
        lidar_to_camera_from_tf(ros2_bag, "velo_link", camera_frame(2)))


def test_a_ros1_type_without_ros2_definition_is_left_out_and_said(tmp_path: Path,
                                                                   ros1_bag: Path) -> None:
    """A driver's own packet type cannot become a ROS 2 message: listed with the reason, left
    out of 'all topics', an error when asked for by name."""
    store = ROS1_TYPESTORE
    store.register(get_types_from_msg("time stamp\nuint8[4] data", "my_driver/msg/Packet"))
    packet = store.types["my_driver/msg/Packet"](
        stamp=store.types["builtin_interfaces/msg/Time"](sec=1, nanosec=2),
        data=np.arange(4, dtype=np.uint8))
    bag = tmp_path / "driver.bag"
    with Ros1Writer(bag) as writer:
        packets = writer.add_connection("/packets", "my_driver/msg/Packet", typestore=store)
        image = writer.add_connection(TOPICS.image, "sensor_msgs/msg/Image", typestore=store)
        writer.write(packets, 10, store.serialize_ros1(packet, "my_driver/msg/Packet"))
        (first,) = [m for m in iter_messages(ros1_bag, [TOPICS.image])][:1]
        writer.write(image, 20, to_ros1(first.decode()))
    assert bag_topics(bag) == {TOPICS.image: "sensor_msgs/msg/Image"}
    assert "my_driver/msg/Packet has no ROS 2 definition" in unreadable_topics(bag)["/packets"]
    assert [m.topic for m in iter_messages(bag)] == [TOPICS.image]
    with pytest.raises(DataFormatError, match="no topic /packets readable as ROS 2 messages"):
        list(iter_messages(bag, ["/packets"]))


def test_a_truncated_ros1_message_is_a_decode_error_not_the_end(tmp_path: Path,
                                                                 ros1_bag: Path) -> None:
    """A message whose ROS 1 bytes do not convert comes with its error; the next one reads."""
    (image,) = [m for m in iter_messages(ros1_bag, [TOPICS.image])][:1]
    raw = to_ros1(image.decode())
    bag = tmp_path / "broken.bag"
    with Ros1Writer(bag) as writer:
        conn = writer.add_connection(TOPICS.image, "sensor_msgs/msg/Image",
                                     typestore=ROS1_TYPESTORE)
        writer.write(conn, 10, raw[:40])
        writer.write(conn, 20, raw)
    broken, good = iter_messages(bag)
    assert broken.raw == b"" and "cannot be converted to CDR" in (broken.error or "")
    with pytest.raises(DataFormatError, match="cannot decode sensor_msgs/msg/Image"):
        broken.decode()
    assert good.error is None and good.raw == image.raw


def test_evaluate_a_ros1_bag_gives_the_ros2_bags_metrics(ros1_bag: Path, ros2_bag: Path,
                                                         tmp_path: Path) -> None:
    """``evaluate x.bag`` used to stop at "Unrecognized storage format '.bag'"."""
    for bag, out in ((ros1_bag, "ros1"), (ros2_bag, "ros2")):
        assert main(["evaluate", str(bag), "--model", "nearest", "--heldout-beams", "--lines",
                     "32", "--report", str(tmp_path / out)]) == 0
    ros1, ros2 = (json.loads((tmp_path / out / "metrics.json").read_text())
                  for out in ("ros1", "ros2"))
    assert ros1["by_lines"][0]["frames_scored"] == 4
    for name in ("rmse", "mae", "irmse", "imae", "abs_rel", "delta1"):
        assert ros1[name] == ros2[name], name
    assert [f["metrics"] for f in ros1["frames"]] == [f["metrics"] for f in ros2["frames"]]
