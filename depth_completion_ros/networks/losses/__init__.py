"""Training objectives over tensors (no data loading, no optimiser state)."""
from __future__ import annotations

from depth_completion_ros.networks.losses.masked import masked_l1_l2

__all__ = ["masked_l1_l2"]
