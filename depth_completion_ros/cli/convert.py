"""``depth-completion convert KITTI_DIR OUT_BAG``: a KITTI raw drive into a rosbag2 or ROS 1 bag."""
from __future__ import annotations

import argparse

from depth_completion_ros.bag.convert import (
    ASSUMED_PERIOD_NS,
    FORMATS,
    IMAGE_FORMATS,
    convert_kitti,
)
from depth_completion_ros.bag.ros1 import METADATA_TOPIC
from depth_completion_ros.bag.topics import kitti_topics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kitti_dir", metavar="KITTI_DIR",
                        help="drive folder (<date>_drive_<n>_sync), date folder, or a sample "
                             "folder with calib.txt")
    parser.add_argument("out_bag", metavar="OUT_BAG",
                        help="bag folder to create (a ROS 1 bag: a file named *.bag)")
    parser.add_argument("--storage", choices=FORMATS, default=None,
                        help="rosbag2 storage plugin mcap or sqlite3, or ros1 (a ROS 1 .bag "
                             "file); default: ros1 when OUT_BAG ends in .bag, else mcap")
    parser.add_argument("--image-format", choices=IMAGE_FORMATS, default="raw",
                        help="raw (sensor_msgs/Image rgb8, default), or jpeg / png "
                             "(sensor_msgs/CompressedImage on <image topic>/compressed)")
    parser.add_argument("--jpeg-quality", type=int, default=95,
                        help="JPEG quality 1-100 (default 95, image_transport's)")
    parser.add_argument("--camera", type=int, choices=(2, 3), default=2,
                        help="KITTI colour camera: 2 = left (default), 3 = right")
    parser.add_argument("--drive", default=None,
                        help="part of the drive folder name when KITTI_DIR holds several")
    parser.add_argument("--frames", type=int, default=None, help="convert only the first N")


def run(args: argparse.Namespace) -> int:
    summary = convert_kitti(args.kitti_dir, args.out_bag, storage=args.storage,
                            camera=args.camera, drive=args.drive, max_frames=args.frames,
                            image_format=args.image_format, jpeg_quality=args.jpeg_quality)
    topics = kitti_topics(args.camera)
    span_s = (summary.last_stamp_ns - summary.first_stamp_ns) / 1e9
    print(f"wrote {summary.bag} ({summary.storage}): {summary.frames} frames over {span_s:.3f} s "
          f"on {summary.image_topic}, {topics.camera_info}, {topics.points}, {topics.tf_static}")
    if summary.real_stamps:
        print("stamps: the drive's timestamps.txt (camera and LiDAR stamps differ)")
    else:
        print(f"stamps: none in the source, {1e9 / ASSUMED_PERIOD_NS:.0f} Hz assumed (also "
              "stored in the bag's metadata: " + (f"{METADATA_TOPIC})" if summary.storage == "ros1"
                                                  else "custom_data)"))
    return 0
