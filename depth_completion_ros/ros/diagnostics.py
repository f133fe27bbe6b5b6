"""/diagnostics (diagnostic_msgs/DiagnosticArray) of the node's statistics.

The figures themselves are kept by the pure :class:`~depth_completion_ros.runtime.stats.NodeStats`;
this module only builds the message.
"""
from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from depth_completion_ros.runtime.stats import StatsSnapshot, snapshot_fields


def to_diagnostic_array(snap: StatsSnapshot, name: str, hardware_id: str, stamp: Any) -> Any:
    """DiagnosticArray with one status named ``name`` holding :func:`snapshot_fields`."""
    status = DiagnosticStatus(level=bytes([snap.level()]), name=name, hardware_id=hardware_id,
                              message=f"{snap.mode} ({snap.model})" + (
                                  f"; {snap.model_error}" if snap.model_error else ""))
    status.values = [KeyValue(key=k, value=v) for k, v in snapshot_fields(snap)]
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
