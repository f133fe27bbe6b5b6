"""Camera / LiDAR synchronisation (pure, clock passed in) and the queue-of-one worker."""
from __future__ import annotations

from depth_completion_ros.sync.policy import ImageDrivenSync, SyncConfig, SyncedFrame
from depth_completion_ros.sync.worker import LatestWorker

__all__ = ["ImageDrivenSync", "LatestWorker", "SyncConfig", "SyncedFrame"]
