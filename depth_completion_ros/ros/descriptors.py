"""ROS forms of the node's settings: parameter descriptors (ranges, choices) and QoS by name."""
from __future__ import annotations

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from depth_completion_ros.ros.params import PARAMETERS


def make_qos(kind: str, depth: int) -> QoSProfile:
    """QoS named by a parameter: sensor_data (best effort, volatile), reliable or best_effort."""
    if kind == "sensor_data":
        qos = QoSProfile(depth=depth)
        qos.reliability, qos.durability = (qos_profile_sensor_data.reliability,
                                           qos_profile_sensor_data.durability)
        return qos
    reliability = ReliabilityPolicy.RELIABLE if kind == "reliable" else \
        ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(depth=depth, reliability=reliability)


def descriptor(name: str) -> ParameterDescriptor:
    """ParameterDescriptor of a :data:`PARAMETERS` entry: description, range or choices."""
    description, allowed, read_only = PARAMETERS[name]
    desc = ParameterDescriptor(name=name, description=description, read_only=read_only)
    if allowed and isinstance(allowed[0], str):
        desc.additional_constraints = f"one of {list(allowed)}"
    elif allowed and isinstance(allowed[0], int) and isinstance(allowed[1], int):
        desc.integer_range = [IntegerRange(from_value=allowed[0], to_value=allowed[1], step=1)]
    elif allowed:
        desc.floating_point_range = [FloatingPointRange(from_value=float(allowed[0]),
                                                        to_value=float(allowed[1]), step=0.0)]
    return desc
