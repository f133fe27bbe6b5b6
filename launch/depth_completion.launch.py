"""Launch depth_completion_node with a model preset, an optional parameter file and a namespace.

    ros2 launch depth_completion_ros depth_completion.launch.py \
        preset:=classical params_file:=$(ros2 pkg prefix depth_completion_ros)/share/depth_completion_ros/config/kitti.yaml \
        namespace:=front image:=/camera/image_raw camera_info:=/camera/camera_info points:=/lidar/points

``preset`` names ``config/<preset>.yaml`` (one per model); ``params_file`` is loaded after it and
wins (calibration, QoS ...). The Fast DDS shared-memory profile of this package is set for the
node's process unless FASTDDS_DEFAULT_PROFILES_FILE is already set.
"""
from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node

PACKAGE = "depth_completion_ros"


def generate_launch_description() -> LaunchDescription:
    """The node, its launch arguments and the Fast DDS profile variable."""
    share = get_package_share_directory(PACKAGE)
    config = os.path.join(share, "config")
    arguments = [
        DeclareLaunchArgument("preset", default_value="classical",
                              description="model preset: config/<preset>.yaml"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(config, "kitti.yaml"),
                              description="parameter file loaded after the preset"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of the node and its topics"),
        DeclareLaunchArgument("image", default_value="image", description="input image topic"),
        DeclareLaunchArgument("camera_info", default_value="camera_info",
                              description="input camera_info topic"),
        DeclareLaunchArgument("points", default_value="points",
                              description="input PointCloud2 topic"),
    ]
    profile = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE",
                             os.path.join(config, "fastdds_shm.xml"))
    node = Node(
        package=PACKAGE, executable="depth_completion_node", name="depth_completion_node",
        namespace=LaunchConfiguration("namespace"), output="screen",
        parameters=[PathJoinSubstitution([config, [LaunchConfiguration("preset"), ".yaml"]]),
                    LaunchConfiguration("params_file")],
        remappings=[("image", LaunchConfiguration("image")),
                    ("camera_info", LaunchConfiguration("camera_info")),
                    ("points", LaunchConfiguration("points"))],
    )
    return LaunchDescription(
        [*arguments, SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", profile), node])
