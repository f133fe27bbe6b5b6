"""Guidance head: the per-pixel features a propagation layer turns into neighbour offsets and
affinities."""
from __future__ import annotations

from depth_completion_ros.networks.heads.two_stage import HeadLayers
from depth_completion_ros.networks.layers import conv_bn_act


def guidance_head(width: int, channels: int) -> HeadLayers:
    """(dec1, dec0) for a (B, channels, H, W) guidance map, no output activation.

    ``dec1``: 3x3 conv-BN-LeakyReLU, 2 width -> width; ``dec0``: 3x3 conv with bias,
    2 width -> ``channels`` (NLSPN: one per neighbour, 8 for a 3x3 kernel).
    """
    return (conv_bn_act(2 * width, width),
            conv_bn_act(2 * width, channels, bn=False, act=False))
