"""How the per-frame pipeline runs: the part of the node's settings that evaluation shares.

:class:`PipelineSettings` is the one place that holds the defaults of the projection path
(rectified or raw), the depth range and the camera / LiDAR sync timing. The node composes it
with its ROS-only switches (:class:`~depth_completion_ros.ros.params.NodeSettings`); offline
evaluation, ``predict`` and the benchmarks use it directly, so offline equals online.

Example:
    >>> s = PipelineSettings()
    >>> (s.min_depth, s.max_depth, s.sync.slop)
    (0.1, 80.0, 0.05)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from depth_completion_ros.checks import check_depth_range
from depth_completion_ros.sync.policy import SyncConfig


@dataclass(frozen=True)
class PipelineSettings:
    """Settings of :class:`~depth_completion_ros.pipeline.DepthPipeline` and its sync policy.

    Attributes:
        use_rectified: project with camera_info ``P`` (rectified image); false: ``K`` and ``D``.
        min_depth: metres; nearer LiDAR points and outputs are dropped / NaN.
        max_depth: metres; farther LiDAR points and outputs are dropped / NaN.
        sync: pairing of images and clouds (slop, max_wait, lidar_timeout; seconds).

    Raises:
        InputError: the depth range is not ``0 <= min_depth < max_depth`` (finite metres).
    """

    use_rectified: bool = True
    min_depth: float = 0.1
    max_depth: float = 80.0
    sync: SyncConfig = field(default_factory=SyncConfig)

    def __post_init__(self) -> None:
        check_depth_range(self.min_depth, self.max_depth)
