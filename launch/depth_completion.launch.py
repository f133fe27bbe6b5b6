"""Launch depth_completion_node with a model preset, an optional parameter file and a namespace.

    ros2 launch depth_completion_ros depth_completion.launch.py \
        preset:=classical params_file:=/path/to/my_vehicle.yaml \
        namespace:=front image:=/camera/image_raw camera_info:=/camera/camera_info \
        points:=/lidar/points

``preset`` names ``config/<preset>.yaml`` (one per model); ``params_file`` (optional) is loaded
after it and wins: put the vehicle's ``lidar_to_camera`` there, or leave it unset to take the
transform from tf2 at each image stamp. There is deliberately no default calibration: a wrong
extrinsic silently corrupts depth. ``config/kitti.yaml`` holds the KITTI sample's calibration
for replaying KITTI bags. The Fast DDS shared-memory profile of this package is set for the
node's process unless FASTDDS_DEFAULT_PROFILES_FILE is already set.
"""
from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

PACKAGE = "depth_completion_ros"


def _config_dir() -> str:
    return os.path.join(get_package_share_directory(PACKAGE), "config")


def _node(context, *args, **kwargs) -> list:
    """The node, with the preset file and the optional parameter file resolved."""
    preset = LaunchConfiguration("preset").perform(context)
    preset_file = os.path.join(_config_dir(), f"{preset}.yaml")
    if not os.path.isfile(preset_file):
        known = sorted(f[:-5] for f in os.listdir(_config_dir())
                       if f.endswith(".yaml") and f != "kitti.yaml")
        raise RuntimeError(f"preset {preset!r}: no {preset_file}; presets: {known}")
    parameters = [preset_file]
    params_file = LaunchConfiguration("params_file").perform(context)
    if params_file:
        parameters.append(params_file)
    transport = LaunchConfiguration("image_transport").perform(context)
    if transport:  # validated by the node (raw | compressed), wins over both files
        parameters.append({"image_transport": transport})
    return [Node(
        package=PACKAGE, executable="depth_completion_node", name="depth_completion_node",
        namespace=LaunchConfiguration("namespace"), output="screen", parameters=parameters,
        remappings=[("image", LaunchConfiguration("image")),
                    ("camera_info", LaunchConfiguration("camera_info")),
                    ("points", LaunchConfiguration("points"))],
    )]


def generate_launch_description() -> LaunchDescription:
    """Launch arguments, the Fast DDS profile variable and the node."""
    arguments = [
        DeclareLaunchArgument("preset", default_value="classical",
                              description="model preset: config/<preset>.yaml"),
        DeclareLaunchArgument("params_file", default_value="",
                              description="parameter file loaded after the preset (calibration, "
                                          "QoS ...); e.g. the share's config/kitti.yaml for "
                                          "KITTI bags"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of the node and its topics"),
        DeclareLaunchArgument("image", default_value="image", description="input image topic"),
        DeclareLaunchArgument("camera_info", default_value="camera_info",
                              description="input camera_info topic"),
        DeclareLaunchArgument("points", default_value="points",
                              description="input PointCloud2 topic"),
        DeclareLaunchArgument("image_transport", default_value="",
                              description="raw or compressed (subscribes <image>/compressed, "
                                          "sensor_msgs/CompressedImage); empty: the preset's / "
                                          "params_file's value (default raw)"),
    ]
    profile = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE",
                             os.path.join(_config_dir(), "fastdds_shm.xml"))
    env = [SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", profile)]
    if "FASTDDS_DEFAULT_PROFILES_FILE" not in os.environ:  # ours: use its history memory policy
        env.append(SetEnvironmentVariable("RMW_FASTRTPS_USE_QOS_FROM_XML", "1"))
    return LaunchDescription([*arguments, *env, OpaqueFunction(function=_node)])
