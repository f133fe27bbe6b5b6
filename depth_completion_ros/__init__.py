"""depth_completion_ros: camera + LiDAR depth completion for ROS 2.

The core (geometry, io, metrics, models, engine, sync, evaluation, bag) imports no rclpy; the
ROS layer lives in :mod:`depth_completion_ros.ros`.
"""
__version__ = "0.1.0"
