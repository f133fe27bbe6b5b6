"""``depth-completion calib BAG``: the node's ``lidar_to_camera`` parameter from a bag's /tf_static.

``depth-completion replay`` cannot publish ``/tf_static`` from the pip venv (no ``tf2_msgs``), so
the node there needs the transform as a parameter. This prints it ready to paste: a params-file
snippet (YAML) and a ``--ros-args -p`` argument, every number written so that it reads back as
the very same float64 (shortest round-trip digits, always with a decimal point: ROS parameters
must be floats, ``1.0`` not ``1``). ``--params-file FILE`` also writes the snippet to FILE.

The transform is the one ``evaluate`` uses: the ``/tf_static`` edge between the clouds' and the
images' frame ids (either direction), mapping LiDAR points into the camera's optical frame.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from depth_completion_ros.arrays import Array
from depth_completion_ros.bag.topics import TF_STATIC_TOPIC, BagTopics, kitti_topics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = kitti_topics(2)
    parser.add_argument("bag", metavar="BAG", help="rosbag2 folder (or .mcap / .db3 file)")
    parser.add_argument("--image-topic", default=defaults.image,
                        help="its first message's frame_id is the camera frame")
    parser.add_argument("--points-topic", default=defaults.points,
                        help="its first message's frame_id is the LiDAR frame")
    parser.add_argument("--tf-topic", default=TF_STATIC_TOPIC)
    parser.add_argument("--params-file", metavar="FILE",
                        help="also write the params-file snippet to FILE")


def float_text(value: float) -> str:
    """``value`` in the fewest digits that read back as the same float64, with a decimal point.

    Example:
        >>> [float_text(v) for v in (1.0, -0.0001, 1e-17, 0.1 + 0.2)]
        ['1.0', '-0.0001', '0.00000000000000001', '0.30000000000000004']
    """
    return str(np.format_float_positional(float(value), unique=True, trim="0"))


def matrix_text(matrix: Array, indent: int = 0) -> str:
    """A 4x4 matrix as a YAML flow list of 16 floats, one row per line after the first."""
    rows = [", ".join(float_text(v) for v in row) for row in np.asarray(matrix).reshape(4, 4)]
    return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"


def params_yaml(matrix: Array) -> str:
    """A ROS 2 params file setting ``lidar_to_camera`` for every node (``/**``)."""
    key = "    lidar_to_camera: "
    return f"/**:\n  ros__parameters:\n{key}{matrix_text(matrix, len(key))}\n"


def ros_args(matrix: Array) -> str:
    """The ``--ros-args -p`` argument (one shell word, single-quoted)."""
    values = ", ".join(float_text(v) for v in np.asarray(matrix).reshape(-1))
    return f"--ros-args -p 'lidar_to_camera:=[{values}]'"


def run(args: argparse.Namespace) -> int:
    from depth_completion_ros.bag.reading import bag_topics, first_message
    from depth_completion_ros.errors import CalibrationError
    from depth_completion_ros.evaluation.calibration import resolve_lidar_to_camera

    topics = BagTopics(args.image_topic, "", args.points_topic, args.tf_topic)
    present = bag_topics(args.bag)
    if args.tf_topic not in present:
        raise CalibrationError(f"bag {args.bag} has no {args.tf_topic}: no static transform to "
                               f"print (its topics: {', '.join(sorted(present))})")
    matrix = resolve_lidar_to_camera(args.bag, topics)
    camera = first_message(args.bag, topics.image).header.frame_id
    lidar = first_message(args.bag, topics.points).header.frame_id
    snippet = params_yaml(matrix)
    print(f"# lidar_to_camera from {args.tf_topic} of {Path(args.bag).name}: {lidar!r} -> "
          f"{camera!r} (LiDAR points into the camera's optical frame, row-major 4x4)")
    print("# params file (ros2 run ... --ros-args --params-file FILE):")
    print(snippet, end="")
    print("# or on the command line:")
    print(ros_args(matrix))
    if args.params_file:
        Path(args.params_file).write_text(
            f"# lidar_to_camera from {args.tf_topic} of {Path(args.bag).name}: {lidar!r} -> "
            f"{camera!r}\n{snippet}")
        print(f"# written to {args.params_file}")
    return 0
