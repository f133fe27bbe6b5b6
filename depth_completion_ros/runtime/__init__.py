"""The node's pure run-time pieces (no ROS import): model slot, statistics, input bookkeeping.

The ROS layer (:mod:`depth_completion_ros.ros`) wires them to topics, parameters and timers;
here they are plain, thread-safe Python, unit tested without a ROS context.
"""
