"""LiDAR dropout in tiers (pure, no ROS): the policy, motion compensation of a stale scan, and
one frame served by the chosen tier."""
from __future__ import annotations

from depth_completion_ros.dropout.motion import Pose, PoseHistory, compensate
from depth_completion_ros.dropout.policy import (
    DropoutConfig,
    TierChoice,
    choose_tier,
    fit_time_constant,
    stale_confidence,
)
from depth_completion_ros.dropout.serve import Scan, ScanMemory, ServedFrame, serve_frame

__all__ = ["DropoutConfig", "Pose", "PoseHistory", "Scan", "ScanMemory", "ServedFrame",
           "TierChoice", "choose_tier", "compensate", "fit_time_constant", "serve_frame",
           "stale_confidence"]
