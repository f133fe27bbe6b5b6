"""The two-layer head shared by the depth, guidance and confidence heads, and how it is run.

Example:
    >>> import torch
    >>> from depth_completion_ros.networks.backbones import EncoderDecoderFeatures
    >>> from depth_completion_ros.networks.heads import initial_depth_head
    >>> dec1, dec0 = initial_depth_head(8)
    >>> feats = EncoderDecoderFeatures(torch.zeros(1, 8, 5, 7), torch.zeros(1, 8, 5, 7),
    ...                                torch.zeros(1, 8, 6, 8))
    >>> tuple(run_head(dec1, dec0, head_input(feats), feats.fe1).shape)
    (1, 1, 5, 7)
"""
from __future__ import annotations

from torch import Tensor, nn

from depth_completion_ros.networks.backbones.resnet_encdec import EncoderDecoderFeatures
from depth_completion_ros.networks.layers import concat_skip

#: (dec1, dec0) of a head
HeadLayers = tuple[nn.Module, nn.Module]


def head_input(features: EncoderDecoderFeatures) -> Tensor:
    """``cat(fd2, fe2)``: (B, 2 width, H, W), the first layer's input of every head (computed
    once when several heads read the same features)."""
    return concat_skip(features.fd2, features.fe2)


def run_head(dec1: nn.Module, dec0: nn.Module, joined: Tensor, fe1: Tensor) -> Tensor:
    """``dec0(cat(dec1(joined), fe1))``: (B, C, H, W) at the size of ``fe1``.

    Args:
        dec1, dec0: the head's layers.
        joined: :func:`head_input` of the features.
        fe1: the features' first-convolution map.
    """
    out: Tensor = dec0(concat_skip(dec1(joined), fe1))
    return out
