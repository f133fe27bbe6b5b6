"""Training objectives over tensors (no data loading, no optimiser state)."""
from __future__ import annotations

from depth_completion_ros.networks.losses.image import grey_scale, image_l2, with_image_loss
from depth_completion_ros.networks.losses.masked import masked_l1, masked_l1_l2, masked_l2
from depth_completion_ros.networks.losses.silog import masked_silog

__all__ = ["grey_scale", "image_l2", "masked_l1", "masked_l1_l2", "masked_l2", "masked_silog",
           "with_image_loss"]
