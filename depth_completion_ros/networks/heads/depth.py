"""Initial-depth head: the dense depth a propagation layer starts from."""
from __future__ import annotations

from depth_completion_ros.networks.heads.two_stage import HeadLayers
from depth_completion_ros.networks.layers import conv_bn_act


def initial_depth_head(width: int) -> HeadLayers:
    """(dec1, dec0) for a (B, 1, H, W) depth in network units.

    ``dec1``: 3x3 conv-BN-LeakyReLU, 2 width -> width; ``dec0``: 3x3 conv with bias, 2 width -> 1,
    then LeakyReLU(0.2) (NLSPN keeps the activation on the output: negative values are damped,
    not cut; the final depth is clamped at 0 after propagation).
    """
    return (conv_bn_act(2 * width, width),
            conv_bn_act(2 * width, 1, bn=False, act=True))
