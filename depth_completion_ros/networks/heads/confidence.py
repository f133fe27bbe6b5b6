"""Confidence head: a per-pixel confidence in (0, 1) of the initial depth.

NLSPN uses it twice: each neighbour's affinity is multiplied by the confidence sampled at that
neighbour (so unreliable pixels propagate less), and it is the model's output confidence.
"""
from __future__ import annotations

from torch import nn

from depth_completion_ros.networks.heads.two_stage import HeadLayers
from depth_completion_ros.networks.layers import conv_bn_act


def confidence_head(width: int) -> HeadLayers:
    """(dec1, dec0) for a (B, 1, H, W) confidence.

    ``dec1``: 3x3 conv-BN-LeakyReLU, 2 width -> width / 2; ``dec0``: 3x3 conv with bias,
    width / 2 + width -> 1, then a sigmoid.
    """
    return (conv_bn_act(2 * width, width // 2),
            nn.Sequential(nn.Conv2d(width // 2 + width, 1, 3, 1, 1), nn.Sigmoid()))
