"""KITTI raw drive (official layout or the embedded sample's) -> rosbag2, with ``rosbags`` only.

Topics (:func:`~depth_completion_ros.bag.topics.kitti_topics`): rgb8 images, rectified camera
info (``P = [K | 0]``, ``R = I``, ``D = 0``), PointCloud2 with x, y, z, intensity and ring, and one
``/tf_static`` message with the pose of the camera's optical frame in ``velo_link``. Drives with
``timestamps.txt`` keep their real camera and LiDAR stamps; the sample layout has none, so 10 Hz
from :data:`ASSUMED_START_NS` is assumed, printed by the command and stored in the bag's
``custom_data`` under :data:`~depth_completion_ros.bag.topics.STAMPS_KEY`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import StoragePlugin, Writer

from depth_completion_ros.arrays import Float64Array
from depth_completion_ros.bag import messages
from depth_completion_ros.bag.topics import (
    LIDAR_FRAME,
    SOURCE_KEY,
    STAMPS_KEY,
    camera_frame,
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


def convert_kitti(kitti_dir: str | Path, out_bag: str | Path, *, storage: str = "mcap",
                  camera: int = 2, drive: str | None = None,
                  max_frames: int | None = None) -> ConversionSummary:
    """Write a KITTI raw drive into a new rosbag2 folder.

    Args:
        kitti_dir: drive folder, date folder (``drive`` picks one of several) or a sample folder
            with ``calib.txt``.
        out_bag: the bag folder to create (must not exist).
        storage: ``"mcap"`` or ``"sqlite3"``.
        camera: KITTI colour camera, 2 (left) or 3 (right).
        drive: part of the drive folder name when ``kitti_dir`` holds several.
        max_frames: convert only the first frames (all when None).

    Raises:
        InputError: unknown storage, ``max_frames < 1`` or an existing ``out_bag``.
        DataFormatError / CalibrationError: unreadable KITTI data.
    """
    if storage not in STORAGES:
        raise InputError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be >= 1, got {max_frames}")
    kitti_topics(camera)  # raises InputError for a camera other than 2 or 3
    out_bag = Path(out_bag)
    if out_bag.exists():
        raise InputError(f"output bag {out_bag} exists already; not overwriting")
    sequence = open_sequence(kitti_dir, drive=drive, cam=camera)
    real = sequence.image_stamps_ns is not None and sequence.lidar_stamps_ns is not None
    writer = Writer(out_bag, version=8, storage_plugin=STORAGES[storage])
    writer.set_custom_data(STAMPS_KEY, "timestamps.txt of the drive" if real else
                           "none in the source: 10 Hz assumed from 2011-09-26T00:00:00Z")
    with writer:
        stamps = _write_frames(writer, sequence, camera, max_frames)
    return ConversionSummary(out_bag, len(stamps), real, stamps[0], stamps[-1])


def _write_frames(writer: Writer, sequence: KittiSequence, camera: int,
                  max_frames: int | None) -> list[int]:
    """Write the static tf, then every frame's image, camera info and cloud; camera stamps."""
    topics, optical = kitti_topics(camera), camera_frame(camera)
    store = messages.TYPESTORE
    conns = {name: writer.add_connection(topic, msgtype, typestore=store)
             for name, topic, msgtype in (
                 ("image", topics.image, "sensor_msgs/msg/Image"),
                 ("info", topics.camera_info, "sensor_msgs/msg/CameraInfo"),
                 ("points", topics.points, "sensor_msgs/msg/PointCloud2"))}
    tf_conn = writer.add_connection(topics.tf_static, "tf2_msgs/msg/TFMessage", typestore=store,
                                    offered_qos_profiles=[_TF_STATIC_QOS])
    T = ros_lidar_to_camera(sequence.calibration, camera)
    sources, stamps = [], []
    for position in range(min(len(sequence), max_frames or len(sequence))):
        frame = sequence.frame(position)
        cam_ns, lidar_ns = frame_stamps(frame, position)
        if position == 0:
            first = min(cam_ns, lidar_ns)
            tf = messages.static_transform(np.linalg.inv(T), LIDAR_FRAME, optical, first)
            writer.write(tf_conn, first, store.serialize_cdr(tf, tf.__msgtype__))
        height, width = frame.image.shape[:2]
        K = sequence.calibration.camera(camera, width, height).intrinsics(rectified=True)
        for conn, stamp, msg in (
                (conns["points"], lidar_ns, messages.point_cloud(
                    frame.points, estimate_rings(frame.points), lidar_ns, LIDAR_FRAME)),
                (conns["info"], cam_ns, messages.rectified_camera_info(
                    width, height, K, cam_ns, optical)),
                (conns["image"], cam_ns, messages.rgb_image(frame.image, cam_ns, optical))):
            writer.write(conn, stamp, store.serialize_cdr(msg, msg.__msgtype__))
        sources.append(str(frame.index))
        stamps.append(cam_ns)
    if not stamps:
        raise DataFormatError(f"{sequence.root}: no frames to convert")
    writer.set_custom_data(SOURCE_KEY, "kitti frames " + ",".join(sources))
    return stamps
